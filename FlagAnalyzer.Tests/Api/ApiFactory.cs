using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api;

/// <summary>
/// The real API on a real, fresh SQLite file in a temp folder (in FlagAnalyzer.Tests.Postgres, compiled with
/// <c>POSTGRES</c>: a fresh database of the test process's PostgreSQL cluster). <see cref="Restart"/> gives a new app
/// on the same database, to prove state survives. Extra configuration (e.g. a Redis or LLM connection string) goes
/// through <see cref="Settings"/> before the first request. It starts with the bootstrap admin key
/// (<see cref="TestKeys.Admin"/>), which every client from <c>CreateClient()</c> sends.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<FlagAnalyzer.Api.ApiMarker>
{
    public ApiFactory(string? databasePath = null)
    {
#if POSTGRES
        DatabasePath = databasePath ?? PostgresServer.Shared().GetAwaiter().GetResult().CreateDatabase();
        Settings["ConnectionStrings:flagdb"] = DatabasePath;
#else
        DatabasePath = databasePath ?? Path.Combine(TempDatabases.Folder, $"{Guid.NewGuid():N}.db");
        Settings["ConnectionStrings:flagdb"] = $"Data Source={DatabasePath}";
#endif
        Settings[TestKeys.Setting] = TestKeys.Admin;
    }

    /// <summary>
    /// The database: a SQLite file's path, or under <c>POSTGRES</c> the database's Npgsql connection string. Another
    /// factory given it shares the database (a restart, a second replica); <see cref="TestDatabase"/> opens it.
    /// </summary>
    public string DatabasePath { get; }

    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>The app's content root, when a test needs another one than the API project's folder.</summary>
    public string? ContentRoot { get; init; }

    /// <summary>Extra service registrations applied after the app's own (test doubles of external parts only).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = Json.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        if (ContentRoot is not null) builder.UseContentRoot(ContentRoot);
        foreach (var (k, v) in Settings) builder.UseSetting(k, v);
        if (ConfigureServices is { } configure) builder.ConfigureServices(configure);
    }

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.WithAdminKey();
    }

    /// <summary>A client that sends no key.</summary>
    public HttpClient CreateAnonymousClient() => CreateClient().WithoutKey();

    /// <summary>
    /// A second app on the same database file, with the same settings, services and content root (dispose the first one
    /// before using it): a restart changes the process, not its configuration.
    /// </summary>
    public ApiFactory Restart()
    {
        var next = new ApiFactory(DatabasePath) { ConfigureServices = ConfigureServices, ContentRoot = ContentRoot };
        foreach (var (key, value) in Settings) next.Settings[key] = value;
        return next;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        // only this database's pooled connections: other tests' apps run in parallel with their own
        TestDatabase.ClearPool(DatabasePath);
    }
}

/// <summary>
/// Where the test databases live: one folder per test process, removed when the process ends, and folders
/// left behind by processes that no longer run (a crash, a killed run) removed by the next run.
/// </summary>
internal static class TempDatabases
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "flaganalyzer-tests");

    public static readonly string Folder = Create();

    private static string Create()
    {
        RemoveLeftovers();
        var folder = Directory.CreateDirectory(Path.Combine(Root, $"run-{Environment.ProcessId}")).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(folder);
        return folder;
    }

    private static void RemoveLeftovers()
    {
        if (!Directory.Exists(Root)) return;
        foreach (var dir in Directory.GetDirectories(Root, "run-*"))
            if (int.TryParse(Path.GetFileName(dir)["run-".Length..], out var pid) && !IsRunning(pid)) TryDelete(dir);
        // files of the old layout (one flat folder, never cleaned)
        foreach (var file in Directory.GetFiles(Root))
            if (File.GetLastWriteTimeUtc(file) < DateTime.UtcNow.AddHours(-1)) TryDelete(file);
    }

    private static bool IsRunning(int pid)
    {
        try { return !System.Diagnostics.Process.GetProcessById(pid).HasExited; }
        catch (ArgumentException) { return false; }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (IOException) { } // still in use: the next run removes it
        catch (UnauthorizedAccessException) { }
    }
}

public static class HttpTestExtensions
{
    public static async Task<T> ReadAs<T>(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        return JsonSerializer.Deserialize<T>(body, ApiFactory.JsonOptions)!;
    }

    public static async Task<JsonElement> ReadJson(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, object body) =>
        client.PostAsJsonAsync(url, body, ApiFactory.JsonOptions);

    public static Task<HttpResponseMessage> PostRaw(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
}
