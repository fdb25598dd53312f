using System.Net;
using System.Text.Json;
using FlagAnalyzer.Tests.Api.Anomalies;

namespace FlagAnalyzer.Tests.Api.Metrics;

/// <summary>
/// Issue 26 item 3: a flag's samples belong to one environment each (default its home), and every read and analysis is
/// of one environment: staging's samples never reach production's list, analysis or anomalies, nor the other way round.
/// </summary>
public sealed class MetricEnvironmentTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _http;
    private readonly AnalysisClient _api;

    public MetricEnvironmentTests()
    {
        _http = _app.CreateClient();
        _api = new AnalysisClient(_http);
    }

    public void Dispose() => _app.Dispose();

    private static object Sample(string flagId, double errorRate, string? environment, DateTimeOffset? at = null) => new
    {
        flagId, environment, timestamp = at, errorRate, latencyP50 = 100.0, latencyP99 = 400.0, requestCount = 1000,
    };

    private async Task<List<JsonElement>> ListAsync(string flagId, string? environment = null) =>
        (await (await _http.GetAsync($"/api/flags/{flagId}/metrics{(environment is null ? "" : $"?environment={environment}")}")).ReadJson())
        .GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task SamplesOfStagingAndProduction_EachEnvironmentsListAndAnalysisSeeOnlyItsOwn()
    {
        var id = await _api.CreateFlagAsync("env-split", environment: "production");
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var batch = Enumerable.Range(0, 5).Select(i => Sample(id, 1.0, null, start.AddMinutes(i)))                 // home: production
            .Concat(Enumerable.Range(0, 3).Select(i => Sample(id, 1.0, "production", start.AddMinutes(i))))
            .Concat(Enumerable.Range(0, 4).Select(i => Sample(id, 2.0, "staging", start.AddMinutes(i))));
        Assert.Equal(HttpStatusCode.OK, (await _http.PostJson("/api/metrics", batch.ToArray())).StatusCode);

        var production = await ListAsync(id);
        Assert.Equal(8, production.Count);
        Assert.All(production, s => Assert.Equal("production", s.GetProperty("environment").GetString()));
        Assert.Equal(production.Select(s => s.GetProperty("id").GetInt64()), (await ListAsync(id, "production")).Select(s => s.GetProperty("id").GetInt64()));
        var staging = await ListAsync(id, "staging");
        Assert.Equal(4, staging.Count);
        Assert.All(staging, s => Assert.Equal(2.0, s.GetProperty("errorRate").GetDouble()));
        Assert.Empty(await ListAsync(id, "development"));

        async Task<JsonElement> AnalyzeAsync(string? environment) =>
            Assert.Single((await (await _http.PostJson("/api/analyze", new { flagId = id, environment })).ReadJson()).GetProperty("flags").EnumerateArray());
        var home = await AnalyzeAsync(null);
        Assert.Equal("production", home.GetProperty("environment").GetString());
        Assert.Equal(8, home.GetProperty("current").GetProperty("samples").GetInt32() + home.GetProperty("baseline").GetProperty("samples").GetInt32());
        var stagingReport = await AnalyzeAsync("staging");
        Assert.Equal("staging", stagingReport.GetProperty("environment").GetString());
        Assert.Equal(4, stagingReport.GetProperty("current").GetProperty("samples").GetInt32() + stagingReport.GetProperty("baseline").GetProperty("samples").GetInt32());
    }

    [Fact]
    public async Task AStagingSpike_RaisesAStagingAnomaly_AndTheListFiltersByEnvironment()
    {
        var id = await _api.CreateFlagAsync("env-spike", environment: "production");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 50);
        // staging's treatment fails six times as often as its control: production's samples stay as they were
        object Cohort(string cohort, double errorRate, int i) => new
        {
            flagId = id, environment = "staging", cohort, errorRate, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = 1000,
        };
        var spike = await (await _http.PostJson("/api/metrics",
            Enumerable.Range(0, 8).SelectMany(i => new[] { Cohort("control", 1.0, i), Cohort("treatment", 6.0, i) }).ToArray())).ReadJson();

        var raised = spike.GetProperty("anomalies").EnumerateArray().ToList();
        Assert.NotEmpty(raised);
        Assert.All(raised, a => Assert.Equal("staging", a.GetProperty("environment").GetString()));

        async Task<List<JsonElement>> AnomaliesAsync(string environment) =>
            (await (await _http.GetAsync($"/api/anomalies?flagId={id}&status=all&environment={environment}")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(await AnomaliesAsync("staging"));
        Assert.Empty(await AnomaliesAsync("production"));
        // production's own analysis has none open: staging's spike never moved its window
        var home = Assert.Single((await (await _http.PostJson("/api/analyze", new { flagId = id })).ReadJson()).GetProperty("flags").EnumerateArray());
        Assert.Empty(home.GetProperty("openAnomalies").EnumerateArray());
    }

    /// <summary>
    /// Each environment's analysis is split around its own latest change: staging's roll-out is staging's anchor and never
    /// production's, whose own roll-out came earlier (before, staging had no anchor at all and fell back to cohorts).
    /// </summary>
    [Fact]
    public async Task EachEnvironmentsAnalysis_IsSplitAroundItsOwnLatestChange()
    {
        var id = await _api.CreateFlagAsync("env-anchor", environment: "production");
        await _api.RollOutAsync(id, 20);
        var staging = await _http.PatchAsync($"/api/flags/{id}/environments/staging",
            System.Net.Http.Json.JsonContent.Create(new { enabled = true, rolloutPercentage = 50 }, options: ApiFactory.JsonOptions));
        Assert.Equal(HttpStatusCode.OK, staging.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostJson("/api/metrics",
            new[] { Sample(id, 1.0, "production"), Sample(id, 1.0, "staging") })).StatusCode);

        async Task<string> LatestChangeAsync(string environment) =>
            (await (await _http.GetAsync($"/api/flags/{id}/changes?environment={environment}")).ReadJson())
            .GetProperty("items").EnumerateArray().First().GetProperty("id").GetString()!;
        async Task<JsonElement> AnalyzeAsync(string environment) =>
            Assert.Single((await (await _http.PostJson("/api/analyze", new { flagId = id, environment })).ReadJson()).GetProperty("flags").EnumerateArray());

        var productionChange = await LatestChangeAsync("production");
        var stagingChange = await LatestChangeAsync("staging");
        Assert.NotEqual(productionChange, stagingChange);
        Assert.Equal(stagingChange, (await AnalyzeAsync("staging")).GetProperty("changeId").GetString());
        Assert.Equal(productionChange, (await AnalyzeAsync("production")).GetProperty("changeId").GetString());
    }

    [Fact]
    public async Task MalformedEnvironments_Are400NamingTheField()
    {
        var id = await _api.CreateFlagAsync("env-bad", environment: "production");

        var batch = await _http.PostJson("/api/metrics", new[] { Sample(id, 1, null), Sample(id, 1, "Prod uction") });
        Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
        Assert.True((await batch.ReadJson()).GetProperty("errors").TryGetProperty("[1].environment", out _));

        var list = await _http.GetAsync($"/api/flags/{id}/metrics?environment=NOT%20ONE");
        Assert.Equal(HttpStatusCode.BadRequest, list.StatusCode);
        Assert.True((await list.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));

        var anomalies = await _http.GetAsync("/api/anomalies?environment=NOT%20ONE");
        Assert.Equal(HttpStatusCode.BadRequest, anomalies.StatusCode);
        Assert.True((await anomalies.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));

        var predictions = await _http.GetAsync("/api/predictions?environment=NOT%20ONE");
        Assert.Equal(HttpStatusCode.BadRequest, predictions.StatusCode);
        Assert.True((await predictions.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));
    }
}
