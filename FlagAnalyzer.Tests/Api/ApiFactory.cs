using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api;

/// <summary>
/// The real API on a real, fresh SQLite file in a temp folder. <see cref="Restart"/> gives a new app on the
/// same file, to prove state survives. Extra configuration (e.g. a Redis or LLM connection string) goes
/// through <see cref="Settings"/> before the first request. It starts with the bootstrap admin key
/// (<see cref="TestKeys.Admin"/>), which every client from <c>CreateClient()</c> sends.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<FlagAnalyzer.Api.ApiMarker>
{
    public ApiFactory(string? databasePath = null)
    {
        DatabasePath = databasePath ?? Path.Combine(Path.GetTempPath(), "flaganalyzer-tests", $"{Guid.NewGuid():N}.db");
        Settings["ConnectionStrings:flagdb"] = $"Data Source={DatabasePath}";
        Settings[TestKeys.Setting] = TestKeys.Admin;
    }

    public string DatabasePath { get; }

    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Extra service registrations applied after the app's own (test doubles of external parts only).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = Json.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
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

    /// <summary>A second app on the same database file (dispose the first one before using it).</summary>
    public ApiFactory Restart() => new(DatabasePath) { ConfigureServices = ConfigureServices };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
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
