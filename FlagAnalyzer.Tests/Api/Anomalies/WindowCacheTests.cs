using FlagAnalyzer.Tests.Support;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Api.Anomalies;

/// <summary>The in-memory window cache must agree with what committed, whatever happened to the transactions.</summary>
public sealed class WindowCacheTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public WindowCacheTests() => _api = new AnalysisClient(_app.CreateClient());

    public void Dispose() => _app.Dispose();

    private static MetricSample Spike(string flagId) => new()
    {
        FlagId = flagId, Environment = "production", Timestamp = DateTimeOffset.UtcNow, ErrorRate = 5, LatencyP50 = 100, LatencyP99 = 400, RequestCount = 1000,
    };

    [Fact]
    public async Task ARolledBackWrite_IsForgottenByTheNextDetection()
    {
        var id = await _api.CreateFlagAsync("rollback-safe");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 10);
        await _api.SendAsync(id, 2, errorRate: 1.0);
        var db = _app.Services.GetRequiredService<Db>();
        var monitor = _app.Services.GetRequiredService<StatisticalAnomalyMonitor>();

        // a write that detects a spike, then fails before commit
        await using (var doomed = await db.BeginWriteAsync())
        {
            MetricStore.Insert(doomed, [Spike(id), Spike(id), Spike(id)]);
            var during = await monitor.DetectAsync(doomed, [new(id, "production")], default);
            Assert.Single(during.Detected);
        }

        DetectionRun after;
        await using (var next = await db.BeginWriteAsync())
        {
            after = await monitor.RunAsync(next, [new(id, "production")], default);
            await next.CommitAsync();
        }

        var report = Assert.Single(after.Reports);
        Assert.Equal(2, report.Current.Samples);
        Assert.Empty(after.Outcome.Detected);
        Assert.Empty(await _api.AnomaliesAsync(id));
    }

    [Fact]
    public async Task CommittedWrites_AreReadIncrementallyWithoutRebuilding()
    {
        var id = await _api.CreateFlagAsync("incremental");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 10);
        await _api.SendAsync(id, 1, errorRate: 1.0);
        var cache = _app.Services.GetRequiredService<FlagWindowCache>();
        var rebuilds = cache.Rebuilds;

        for (var i = 0; i < 5; i++) await _api.SendAsync(id, 1, errorRate: 1.0);

        Assert.Equal(rebuilds, cache.Rebuilds);
        var report = (await (await _api.Http.PostJson("/api/analyze", new { flagId = id })).ReadJson()).GetProperty("flags")[0];
        Assert.Equal(6, report.GetProperty("current").GetProperty("samples").GetInt32());
    }

    [Fact]
    public async Task ADetectorFailure_DoesNotLoseTheMetrics()
    {
        var id = await _api.CreateFlagAsync("detector-fault");
        await _api.SendBaselineAsync(id);
        // break the detector's storage under the running app
        await TestDatabase.ExecuteAsync(_app.DatabasePath, "DROP TABLE analysis_windows");

        var response = await _api.Http.PostJson("/api/metrics", AnalysisClient.Sample(id, errorRate: 1, p50: 100));

        Assert.Equal(1, (await response.ReadJson()).GetProperty("accepted").GetInt32());
        var stored = (await (await _api.Http.GetAsync($"/api/flags/{id}/metrics")).ReadJson()).GetProperty("items");
        Assert.Equal(31, stored.GetArrayLength());
    }
}
