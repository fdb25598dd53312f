using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FlagAnalyzer.Api;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Benchmarks.Common;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Benchmarks.Access;

/// <summary>
/// What authentication costs per request: the same <c>GET /api/flags/{name}</c> (served from the in-process flag
/// cache) through the whole in-process pipeline (TestServer) of two apps in the same run, one with
/// <c>Auth:Mode=disabled</c> (no key read, no verification; the rule lookup still runs) and one checking a Bearer
/// key (hash, cache lookup, constant-time compare, role check). The difference of the medians is what
/// authentication adds. In-process (no Kestrel, no sockets) so socket noise does not hide a few microseconds.
/// </summary>
[Config(typeof(ShortInProcess))]
[MemoryDiagnoser]
public class AuthenticationBenchmarks
{
    private AuthBenchApps _apps = null!;

    [GlobalSetup]
    public async Task Setup() => _apps = await AuthBenchApps.StartAsync();

    [Benchmark(Baseline = true, Description = "GET flag, authentication disabled")]
    public Task<int> NoAuthentication() => AuthBenchApps.SendAsync(_apps.Open);

    [Benchmark(Description = "GET flag, Authorization: Bearer key")]
    public Task<int> BearerKey() => AuthBenchApps.SendAsync(_apps.Bearer);

    [Benchmark(Description = "GET flag, X-API-Key")]
    public Task<int> XApiKey() => AuthBenchApps.SendAsync(_apps.XApiKey);

    [GlobalCleanup]
    public void Cleanup() => _apps.Dispose();
}

/// <summary>
/// Two in-process apps (TestServer) on temp SQLite files: one with <c>Auth:Mode=disabled</c>, one checking keys,
/// each holding the flag <c>auth-bench</c>; clients for no key, a Bearer key and an X-API-Key (a generated viewer key).
/// </summary>
public sealed class AuthBenchApps : IDisposable
{
    public const string Path = "/api/flags/auth-bench";
    private readonly App _open = new(new() { ["Auth:Mode"] = "disabled" });
    private readonly App _keyed = new(new() { ["Auth:BootstrapAdminKey"] = ApiProcess.AdminKey });

    public HttpClient Open { get; private set; } = null!;
    public HttpClient Bearer { get; private set; } = null!;
    public HttpClient XApiKey { get; private set; } = null!;

    private sealed class App(Dictionary<string, string?> settings) : WebApplicationFactory<ApiMarker>
    {
        public readonly string Db = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"flaganalyzer-auth-bench-{Guid.NewGuid():N}.db");

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("ConnectionStrings:flagdb", $"Data Source={Db}");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            foreach (var (k, v) in settings) builder.UseSetting(k, v);
        }
    }

    public static async Task<AuthBenchApps> StartAsync()
    {
        var apps = new AuthBenchApps();
        apps.Open = apps._open.CreateClient();
        var admin = apps._keyed.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiProcess.AdminKey);
        // a generated key of the viewer role scoped to the flag's environment, as a team's dashboard would hold it: every
        // request pays authentication AND the environment scope check (issue 23: FlagScopeMiddleware's flag lookup)
        var created = await admin.PostAsync("/api/keys/", Json("""{"name":"bench","role":"viewer","environment":"production"}"""));
        var secret = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        apps.Bearer = apps._keyed.CreateClient();
        apps.Bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        apps.XApiKey = apps._keyed.CreateClient();
        apps.XApiKey.DefaultRequestHeaders.Add("X-API-Key", secret);
        foreach (var c in new[] { apps.Open, admin })
            (await c.PostAsync("/api/flags", Json("""{"name":"auth-bench","targetEnvironment":"production"}"""))).EnsureSuccessStatusCode();
        foreach (var c in new[] { apps.Open, apps.Bearer, apps.XApiKey }) await SendAsync(c);
        return apps;
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    public static async Task<int> SendAsync(HttpClient client)
    {
        using var response = await client.GetAsync(Path);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}");
        return (int)response.StatusCode;
    }

    public void Dispose()
    {
        foreach (var app in new[] { _open, _keyed })
        {
            app.Dispose();
            SqliteConnection.ClearAllPools();
            foreach (var f in new[] { "", "-wal", "-shm" }) File.Delete(app.Db + f);
        }
    }
}

/// <summary>The authentication steps alone, without HTTP: verifying a cached key and finding the endpoint's rule.</summary>
[Config(typeof(ShortInProcess))]
[MemoryDiagnoser]
public class KeyVerificationBenchmarks
{
    private ApiKeyVerifier _verifier = null!;
    private string _secret = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var (secret, prefix, hash) = ApiKeySecrets.Generate();
        _secret = secret;
        var key = new StoredApiKey(new ApiKey("key_bench", prefix, "bench", ApiRole.Viewer, null, "bench", DateTimeOffset.UtcNow, null, null), hash);
        _verifier = new ApiKeyVerifier(new OneKey(key), Microsoft.Extensions.Options.Options.Create(new AccessOptions { KeyCacheTtlWithoutInvalidation = TimeSpan.FromHours(1) }),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ApiKeyVerifier>.Instance);
        await _verifier.VerifyAsync(_secret);
    }

    [Benchmark(Description = "verify a cached key (SHA-256 + lookup + fixed-time compare)")]
    public ValueTask<KeyVerification> VerifyCached() => _verifier.VerifyAsync(_secret);

    [Benchmark(Description = "find the endpoint's rule")]
    public EndpointRule? FindRule() => EndpointRules.Find("GET", "/api/flags/{idOrName}");

    private sealed class OneKey(StoredApiKey key) : IApiKeySource
    {
        public Task<IReadOnlyList<StoredApiKey>> FindByPrefixAsync(string prefix, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<StoredApiKey>>(key.Key.Prefix == prefix ? [key] : []);
        public Task TouchAsync(string keyId, DateTimeOffset at, CancellationToken ct) => Task.CompletedTask;
    }
}

/// <summary>In this process (the apps are in-process anyway), 5 warm-up and 20 measured iterations: a run takes minutes, not a quarter of an hour.</summary>
public sealed class ShortInProcess : ManualConfig
{
    public ShortInProcess() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(5).WithIterationCount(20).WithId("InProcess"));
}
