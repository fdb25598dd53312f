using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>Stores a flush as metric samples with detection, in one transaction, like <c>POST /api/metrics</c>.</summary>
public sealed class MetricsImpactWriter(Db db, IAnomalyMonitor monitor, AnomalyEvents anomalyEvents, ILiveEventPublisher live) : IImpactSampleWriter
{
    public async Task WriteAsync(IReadOnlyList<ImpactSample> samples, CancellationToken ct)
    {
        var rows = samples.Select(s => new MetricSample
        {
            FlagId = s.FlagId,
            Timestamp = s.Timestamp,
            Cohort = s.Cohort,
            ErrorRate = s.ErrorRate,
            LatencyP50 = s.LatencyP50,
            LatencyP99 = Math.Max(s.LatencyP50, s.LatencyP99),
            RequestCount = s.RequestCount,
            Variant = s.Variant,
        }).ToList();
        List<MetricSample> stored;
        DetectionOutcome outcome;
        await using (var scope = await db.BeginWriteAsync(ct))
        {
            stored = MetricStore.Insert(scope, rows);
            outcome = await monitor.DetectAsync(scope, stored.Select(m => m.FlagId).Distinct().ToList(), ct, stored);
            await scope.CommitAsync(ct);
        }
        foreach (var group in stored.GroupBy(m => m.FlagId))
        {
            var latest = group.MaxBy(m => m.Timestamp)!;
            await live.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded,
                new MetricsRecorded(group.Key, group.Count(), group.Min(m => m.Timestamp), latest.Timestamp, latest), group.Key), ct);
        }
        await anomalyEvents.PublishAsync(outcome, ct);
    }
}
