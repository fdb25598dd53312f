using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Metrics;

/// <summary>
/// Issue 25: the batch insert binds by position and re-binds only the values that differ from the previous row's, and the
/// write path sums a batch per (flag, environment) in one pass. What a batch stores and announces must not depend on
/// either: every field of every row as sent, and one <c>metrics.recorded</c> per environment however the rows interleave.
/// </summary>
public sealed class MetricsBatchStorageTests : IDisposable
{
    private readonly LiveRecorder _live = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _http;
    private readonly AnalysisClient _api;

    public MetricsBatchStorageTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<ILiveEventSink>(_live) };
        _http = _app.CreateClient();
        _api = new AnalysisClient(_http);
    }

    public void Dispose() => _app.Dispose();

    private async Task<List<JsonElement>> ListAsync(string flagId, string environment) =>
        (await (await _http.GetAsync($"/api/flags/{flagId}/metrics?environment={environment}&limit=100")).ReadJson())
        .GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task ABatchWhoseOptionalFieldsComeAndGo_StoresEveryRowAsSent()
    {
        var id = await _api.CreateFlagAsync("batch-fields", environment: "production");
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        string?[] cohorts = [null, "treatment", "treatment", "control", null];
        string?[] variants = [null, "blue", "blue", null, "green"];
        // runs of equal values next to changes, so a value kept from the row before is caught wherever it would leak
        var sent = Enumerable.Range(0, 20).Select(i => new
        {
            flagId = id,
            timestamp = start.AddMinutes(i / 3),
            cohort = cohorts[i % cohorts.Length],
            variant = variants[i / 2 % variants.Length],
            errorRate = i * 0.25,
            latencyP50 = 100.0 + i,
            latencyP99 = 400.0 + i,
            requestCount = 1000 + i,
            conversionRate = i % 4 == 0 ? (double?)null : 3.0 + i,
            userSatisfactionScore = i % 3 == 1 ? (double?)null : 4.0 + i / 100.0,
        }).ToArray();
        Assert.Equal(HttpStatusCode.OK, (await _http.PostJson("/api/metrics", sent)).StatusCode);

        var stored = await ListAsync(id, "production");
        Assert.Equal(sent.Length, stored.Count);
        for (var i = 0; i < sent.Length; i++)
        {
            var (s, r) = (sent[i], stored[i]);
            string? Text(string name) => r.GetProperty(name).ValueKind == JsonValueKind.Null ? null : r.GetProperty(name).GetString();
            double? Number(string name) => r.GetProperty(name).ValueKind == JsonValueKind.Null ? null : r.GetProperty(name).GetDouble();
            Assert.Equal(id, Text("flagId"));
            Assert.Equal(s.timestamp.ToUnixTimeMilliseconds(), r.GetProperty("timestamp").GetDateTimeOffset().ToUnixTimeMilliseconds());
            Assert.Equal(s.cohort, Text("cohort"));
            Assert.Equal(s.variant, Text("variant"));
            Assert.Equal(s.errorRate, Number("errorRate"));
            Assert.Equal(s.latencyP50, Number("latencyP50"));
            Assert.Equal(s.latencyP99, Number("latencyP99"));
            Assert.Equal(s.requestCount, r.GetProperty("requestCount").GetInt64());
            Assert.Equal(s.conversionRate, Number("conversionRate"));
            Assert.Equal(s.userSatisfactionScore, Number("userSatisfactionScore"));
            Assert.Equal("production", Text("environment"));
        }
    }

    [Fact]
    public async Task ABatchInterleavingEnvironments_PublishesOneMetricsRecordedPerEnvironment_WithItsCountSpanAndNewest()
    {
        var id = await _api.CreateFlagAsync("batch-events", environment: "production");
        var t = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeSeconds());
        object Sample(string? environment, int minute, double errorRate) => new
        {
            flagId = id, environment, timestamp = t.AddMinutes(minute), errorRate, latencyP50 = 100.0, latencyP99 = 400.0, requestCount = 1000,
        };
        // production (named, then by its home), staging, production again: each environment's samples are not one run
        object[] batch =
        [
            Sample("production", 1, 1.0), Sample("staging", 4, 2.0), Sample(null, 7, 1.7), Sample("staging", 2, 2.1),
            Sample("production", 0, 1.1), Sample("staging", 4, 2.2), Sample(null, 3, 1.2),
        ];
        Assert.Equal(HttpStatusCode.OK, (await _http.PostJson("/api/metrics", batch)).StatusCode);

        var recorded = _live.Events.Where(e => e.FlagId == id && e.Type == LiveEventTypes.MetricsRecorded).ToList();
        Assert.Equal(new[] { "production", "staging" }, recorded.Select(e => e.Environment));
        var production = Assert.IsType<MetricsRecorded>(recorded[0].Payload);
        Assert.Equal(("production", 4, t.AddMinutes(0), t.AddMinutes(7), 1.7),
            (production.Environment, production.Count, production.From, production.To, production.Latest.ErrorRate));
        var staging = Assert.IsType<MetricsRecorded>(recorded[1].Payload);
        // two samples share the newest time: the first of them is the one announced
        Assert.Equal(("staging", 3, t.AddMinutes(2), t.AddMinutes(4), 2.0),
            (staging.Environment, staging.Count, staging.From, staging.To, staging.Latest.ErrorRate));
        Assert.Equal(4, (await ListAsync(id, "production")).Count);
        Assert.Equal(3, (await ListAsync(id, "staging")).Count);
    }
}
