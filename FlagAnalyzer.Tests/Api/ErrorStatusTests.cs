using System.Net;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api;

/// <summary>
/// Each error status the API promises, asked for the way a client would meet it. The unknown-id rule is
/// generated from the app's own endpoint table, so an endpoint added later is held to it without a new test.
/// </summary>
public sealed class ErrorStatusTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public ErrorStatusTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    /// <summary>Route parameters that are not a resource id, with the reason they are left out.</summary>
    private static readonly Dictionary<string, string> NotAnId = new()
    {
        ["/ui/{**path}"] = "client routes of the SPA: any path is the app shell",
        ["/openapi/{documentName}.json"] = "a document name, not a resource (ASP.NET Core's own endpoint)",
    };

    /// <summary>
    /// Route parameters that are not an id, given a valid value, so the unknown id is what the route answers (an unknown
    /// action is a 400, checked before the flag is looked up).
    /// </summary>
    private static readonly Dictionary<string, string> ValidNonId = new()
    {
        ["action"] = "start",
    };

    /// <summary>Routes that validate their body before looking the id up: a valid body, so the unknown id is what is answered.</summary>
    private static readonly Dictionary<string, string> ValidBody = new()
    {
        ["/api/flags/{idOrName}/schedules"] = $$"""{"action":"enable","at":"{{DateTimeOffset.UtcNow.AddDays(1):O}}"}""",
    };

    /// <summary>Routes whose 404 has a body a standard defines, not problem+json, with the standard.</summary>
    private static readonly Dictionary<string, string> OwnErrorShape = new()
    {
        ["/ofrep/v1/evaluate/flags/{key}"] = "OFREP: { key, errorCode: FLAG_NOT_FOUND } as application/json",
    };

    [Fact]
    public async Task EveryRouteWithAnId_AnswersAnUnknownIdWith404Problem()
    {
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.Parameters.Count > 0 && !NotAnId.ContainsKey(e.RoutePattern.RawText!))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m, Route: e.RoutePattern.RawText!)))
            .ToList();
        Assert.True(endpoints.Count >= 8, $"only {endpoints.Count} routes with parameters found: is the endpoint table read?");

        var wrong = new List<string>();
        foreach (var (method, route) in endpoints)
        {
            var path = System.Text.RegularExpressions.Regex.Replace(route, @"\{([^}]+)\}",
                m => ValidNonId.TryGetValue(m.Groups[1].Value, out var valid) ? valid : "no-such-thing-404");
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST" or "PUT" or "PATCH")
                request.Content = new StringContent(ValidBody.GetValueOrDefault(route, "{}"), Encoding.UTF8, "application/json");
            var response = await _client.SendAsync(request);
            var type = response.Content.Headers.ContentType?.MediaType;
            if (response.StatusCode != HttpStatusCode.NotFound || (type != "application/problem+json" && !OwnErrorShape.ContainsKey(route)))
                wrong.Add($"{method} {route} → {(int)response.StatusCode} {type}");
        }
        Assert.True(wrong.Count == 0, "unknown ids not answered with a 404 problem:\n" + string.Join('\n', wrong));
    }

    [Fact]
    public async Task RecordChange_RenamingOntoATakenName_Is409()
    {
        await _client.PostJson("/api/flags", new { name = "taken-name" });
        var flag = await (await _client.PostJson("/api/flags", new { name = "to-rename" })).ReadJson();

        var response = await _client.PostJson("/api/flags/change", new
        {
            flagId = flag.GetProperty("id").GetString(), changeType = "updated", newValue = new { name = "taken-name" }, changedBy = "test",
        });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("to-rename", (await (await _client.GetAsync($"/api/flags/{flag.GetProperty("id").GetString()}")).ReadJson()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Metrics_OneSampleOverTheBatchMaximum_Is400AndStoresNothing()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "bm" })).ReadJson();
        var id = flag.GetProperty("id").GetString()!;
        // compact samples naming the flag by its short name, so the body (≈ 0.8 MB) stays under the 1 MiB
        // size limit and the count is what is refused
        const string one = """{"flagId":"bm","errorRate":1,"latencyP50":1,"latencyP99":2,"requestCount":1}""";
        var body = "[" + string.Join(',', Enumerable.Repeat(one, MetricsApi.MaxBatch + 1)) + "]";

        var response = await _client.PostRaw("/api/metrics", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"at most {MetricsApi.MaxBatch} samples", await response.Content.ReadAsStringAsync());
        var stored = await (await _client.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        Assert.Empty(stored.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Metrics_BodyOverTheSizeLimit_Is413Problem()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "too-large" })).ReadJson();
        // far over any body limit the API sets (1 MiB in general, more for metrics batches)
        var body = $$"""{"flagId":"{{flag.GetProperty("id").GetString()}}","errorRate":1,"latencyP50":10,"latencyP99":20,"requestCount":1,"pad":"{{new string('x', 16 * 1024 * 1024)}}"}""";

        var response = await _client.PostRaw("/api/metrics", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("not-a-version")]
    [InlineData("\"abc\"")]
    public async Task Patch_MalformedIfMatch_Is412AndChangesNothing(string ifMatch)
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = $"if-match-{ifMatch.Length}" })).ReadJson();
        var id = flag.GetProperty("id").GetString();
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/flags/{id}")
        {
            Content = new StringContent("""{"enabled":true}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.False((await (await _client.GetAsync($"/api/flags/{id}")).ReadJson()).GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task Acknowledge_AcknowledgedByOver200Characters_Is400NamingTheField()
    {
        // a real anomaly: treatment errors 3× control at the promised 10 % split
        var flag = await (await _client.PostJson("/api/flags", new { name = "ack-long", targetEnvironment = "staging" })).ReadJson();
        var id = flag.GetProperty("id").GetString()!;
        await _client.PatchAsync($"/api/flags/{id}", new StringContent("""{"enabled":true,"rolloutPercentage":10}""", Encoding.UTF8, "application/json"));
        var samples = Enumerable.Range(0, 5).SelectMany(_ => new object[]
        {
            new { flagId = id, cohort = "control", errorRate = 1.0, latencyP50 = 100.0, latencyP99 = 400.0, requestCount = 9000 },
            new { flagId = id, cohort = "treatment", errorRate = 3.0, latencyP50 = 100.0, latencyP99 = 400.0, requestCount = 1000 },
        }).ToArray();
        var anomaly = Assert.Single((await (await _client.PostJson("/api/metrics", samples)).ReadJson()).GetProperty("anomalies").EnumerateArray());
        var anomalyId = anomaly.GetProperty("id").GetString();

        var response = await _client.PostJson($"/api/anomalies/{anomalyId}/acknowledge", new { acknowledgedBy = new string('a', 201) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("acknowledgedBy", out _));
        Assert.Equal("active", (await (await _client.GetAsync($"/api/anomalies/{anomalyId}")).ReadJson()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ui_PathThatClimbsOutOfTheBuildFolder_Is404NotTheFile()
    {
        // a content root of our own: a built UI, and a file next to it that must never be served
        var root = Directory.CreateTempSubdirectory("flaganalyzer-ui-guard-");
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "wwwroot", "ui"));
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "wwwroot", "ui", "index.html"), "<!doctype html><title>shell</title>");
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "secret.txt"), "outside the build folder");
            using var app = new ApiFactory { ContentRoot = root.FullName };
            app.Settings["Ui:Root"] = root.FullName;

            // TestServer passes the raw path through, as a hand-written HTTP request could: "../" is not collapsed
            var context = await app.Server.SendAsync(c =>
            {
                c.Request.Method = HttpMethods.Get;
                c.Request.Path = "/ui/../../secret.txt";
            });
            var inside = await app.CreateClient().GetAsync("/ui/flags/some-flag");

            Assert.Equal(StatusCodes.Status404NotFound, context.Response.StatusCode);
            Assert.Contains("shell", await inside.Content.ReadAsStringAsync());
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Ui_NotBuilt_Is503WithAPageSayingHowToBuildIt()
    {
        var empty = Directory.CreateTempSubdirectory("flaganalyzer-no-ui-");
        try
        {
            using var app = new ApiFactory { ContentRoot = empty.FullName };
            app.Settings["Ui:Root"] = empty.FullName; // not the build next to the test binaries either
            var response = await app.CreateClient().GetAsync("/ui/");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("The web UI is not built", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

#if !POSTGRES // expects the sqlite health check by name; PostgreSQL's is postgres (PostgresHealthTests)
    [Fact]
    public async Task Health_WhenTheDatabaseCannotAnswer_Is503NamingTheComponent()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health")).StatusCode);
        // the health check reads the migrations table: take it away behind the API's back
        await TestDatabase.ExecuteAsync(_app.DatabasePath, "DROP TABLE schema_migrations");

        var response = await _client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("sqlite", body.ToString());
        Assert.Contains("Unhealthy", body.ToString());
    }
#endif
}
