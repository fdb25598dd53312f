using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
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
[InProcess]
[MemoryDiagnoser]
public class AuthenticationBenchmarks
{
    private App _open = null!;
    private App _keyed = null!;
    private HttpClient _openClient = null!;
    private HttpClient _bearer = null!;
    private HttpClient _xApiKey = null!;
    private const string Path = "/api/flags/auth-bench";

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

    [GlobalSetup]
    public async Task Setup()
    {
        _open = new App(new() { ["Auth:Mode"] = "disabled" });
        _keyed = new App(new() { ["Auth:BootstrapAdminKey"] = ApiProcess.AdminKey });
        _openClient = _open.CreateClient();
        var admin = _keyed.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiProcess.AdminKey);
        // a generated key of the viewer role, as an SDK or a dashboard would hold it
        var created = await admin.PostAsync("/api/keys/", Json("""{"name":"bench","role":"viewer"}"""));
        var secret = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        _bearer = _keyed.CreateClient();
        _bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        _xApiKey = _keyed.CreateClient();
        _xApiKey.DefaultRequestHeaders.Add("X-API-Key", secret);
        foreach (var c in new[] { _openClient, admin })
            (await c.PostAsync("/api/flags", Json("""{"name":"auth-bench","targetEnvironment":"production"}"""))).EnsureSuccessStatusCode();
        foreach (var c in new[] { _openClient, _bearer, _xApiKey }) (await c.GetAsync(Path)).EnsureSuccessStatusCode();
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    [Benchmark(Baseline = true, Description = "GET flag, authentication disabled")]
    public async Task<int> NoAuthentication() => await Send(_openClient);

    [Benchmark(Description = "GET flag, Authorization: Bearer key")]
    public async Task<int> BearerKey() => await Send(_bearer);

    [Benchmark(Description = "GET flag, X-API-Key")]
    public async Task<int> XApiKey() => await Send(_xApiKey);

    private static async Task<int> Send(HttpClient client)
    {
        using var response = await client.GetAsync(Path);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}");
        return (int)response.StatusCode;
    }

    [GlobalCleanup]
    public void Cleanup()
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
[InProcess]
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
