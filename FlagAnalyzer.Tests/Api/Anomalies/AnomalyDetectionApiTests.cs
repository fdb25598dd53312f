using System.Net;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Anomalies;

public sealed class AnomalyDetectionApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public AnomalyDetectionApiTests() => _api = new AnalysisClient(_app.CreateClient());

    public void Dispose() => _app.Dispose();

    private async Task<string> FlagRolledOutAfterBaselineAsync(string name, bool autoRollback = false, double percent = 25)
    {
        var id = await _api.CreateFlagAsync(name, autoRollback);
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, percent);
        return id;
    }

    [Fact]
    public async Task DoubledErrorRate_AfterEnabling_RaisesExactlyOneErrorSpike()
    {
        var id = await FlagRolledOutAfterBaselineAsync("checkout-v2");

        var first = await _api.SendAsync(id, 3, errorRate: 2.2);
        var second = await _api.SendAsync(id, 3, errorRate: 2.2);

        var raised = Assert.Single(first.GetProperty("anomalies").EnumerateArray());
        Assert.Equal("error_spike", raised.GetProperty("type").GetString());
        Assert.Equal("error_rate", raised.GetProperty("metric").GetString());
        Assert.Equal(1.0, raised.GetProperty("baselineValue").GetDouble(), 0.05);
        Assert.Equal(2.2, raised.GetProperty("observedValue").GetDouble(), 0.05);
        Assert.True(raised.GetProperty("confidence").GetDouble() > 0.99);
        // 2.2 % against 1.0 %: 2.2× (≥ 2×, under 4×) and 1.2 points (under 5) is high, not critical
        Assert.Equal("high", raised.GetProperty("severity").GetString());
        Assert.Contains("confidence", raised.GetProperty("message").GetString());
        // the change is named by what it did and when, not by its id
        Assert.Matches(@"after .*25% at \d\d:\d\d UTC vs before it", raised.GetProperty("message").GetString());
        Assert.DoesNotContain("chg_", raised.GetProperty("message").GetString());
        Assert.Empty(second.GetProperty("anomalies").EnumerateArray());
        var stored = Assert.Single(await _api.AnomaliesAsync(id));
        Assert.Equal(raised.GetProperty("id").GetString(), stored.GetProperty("id").GetString());
        Assert.Equal("active", stored.GetProperty("status").GetString());
    }

    [Fact]
    public async Task NoisyButUnchangedMetrics_RaiseNothing()
    {
        var id = await FlagRolledOutAfterBaselineAsync("search-ranking");

        for (var i = 0; i < 5; i++)
            Assert.Empty((await _api.SendAsync(id, 2, errorRate: 1.1)).GetProperty("anomalies").EnumerateArray());

        Assert.Empty(await _api.AnomaliesAsync(id));
    }

    [Fact]
    public async Task RecoveredErrorRate_ResolvesTheAnomaly()
    {
        var id = await FlagRolledOutAfterBaselineAsync("pricing-banner");
        await _api.SendAsync(id, 3, errorRate: 2.5);

        await _api.SendAsync(id, 3, errorRate: 1.0);

        var anomaly = Assert.Single(await _api.AnomaliesAsync(id));
        Assert.Equal("resolved", anomaly.GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKind.Null, anomaly.GetProperty("resolvedAt").ValueKind);
        Assert.Empty(await _api.AnomaliesAsync(id, status: "open"));
    }

    [Fact]
    public async Task DoubledP50_RaisesALatencySpike()
    {
        var id = await FlagRolledOutAfterBaselineAsync("image-cdn");

        var body = await _api.SendAsync(id, 3, errorRate: 1.0, p50: 260);

        var types = body.GetProperty("anomalies").EnumerateArray().Select(a => (a.GetProperty("type").GetString(), a.GetProperty("metric").GetString())).ToList();
        Assert.Contains(("latency_spike", "latency_p50"), types);
        Assert.DoesNotContain(types, t => t.Item1 == "error_spike");
    }

    [Fact]
    public async Task AutoRollbackFlag_WithAConfirmedSpike_IsDisabledByTheGuardian()
    {
        var id = await FlagRolledOutAfterBaselineAsync("risky-payments", autoRollback: true, percent: 20);

        var body = await _api.SendAsync(id, 3, errorRate: 3.5);

        var anomaly = Assert.Single(body.GetProperty("anomalies").EnumerateArray());
        // 3.5 % against 1.0 %: 3.5× (≥ 2×, under 4×) and 2.5 points (under 5) is high; high is what the guardian acts on
        Assert.Equal("high", anomaly.GetProperty("severity").GetString());
        var flag = await (await _api.Http.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.False(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, flag.GetProperty("rolloutPercentage").GetDouble());
        var latest = (await (await _api.Http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items")[0];
        Assert.Equal("rolled_back", latest.GetProperty("changeType").GetString());
        Assert.Equal("guardian", latest.GetProperty("changedBy").GetString());
        Assert.Contains(anomaly.GetProperty("id").GetString()!, latest.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task FlagWithoutAutoRollback_StaysOnDespiteTheSpike()
    {
        var id = await FlagRolledOutAfterBaselineAsync("manual-flag", autoRollback: false, percent: 20);

        await _api.SendAsync(id, 3, errorRate: 3.5);

        var flag = await (await _api.Http.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(20, flag.GetProperty("rolloutPercentage").GetDouble());
    }

    [Theory]
    [InlineData("""{ "errorRate": 1, "latencyP50": 200, "latencyP99": 100, "requestCount": 10 }""", "latencyP99")]
    [InlineData("""{ "errorRate": 150, "latencyP50": 100, "latencyP99": 200, "requestCount": 10 }""", "errorRate")]
    [InlineData("""{ "errorRate": 1, "latencyP50": 100, "latencyP99": 200, "requestCount": -5 }""", "requestCount")]
    public async Task ContradictoryMetrics_Are400AndNeverReachTheDetector(string fields, string field)
    {
        var id = await FlagRolledOutAfterBaselineAsync("validated-flag");

        var response = await _api.Http.PostRaw("/api/metrics", fields.Replace("{ ", $$"""{ "flagId": "{{id}}", """));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty(field, out _));
        var stored = (await (await _api.Http.GetAsync($"/api/flags/{id}/metrics")).ReadJson()).GetProperty("items");
        Assert.Equal(30, stored.GetArrayLength()); // the baseline only
        Assert.Empty(await _api.AnomaliesAsync(id));
    }
}
