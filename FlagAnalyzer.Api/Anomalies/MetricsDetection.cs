using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Metrics' write-path detection (<see cref="IMetricsDetection"/>): the monitor in the transaction, its events after commit.</summary>
public sealed class MetricsDetection(IAnomalyMonitor monitor, AnomalyEvents events) : IMetricsDetection
{
    public async Task<MetricsDetected> DetectAsync(WriteScope scope, IReadOnlyCollection<string> flagIds, IReadOnlyList<MetricSample> recorded,
        CancellationToken ct)
    {
        var outcome = await monitor.DetectAsync(scope, flagIds, ct, recorded);
        return new MetricsDetected(outcome.Detected, outcome);
    }

    public Task PublishAsync(MetricsDetected detected, CancellationToken ct) =>
        detected.State is DetectionOutcome outcome ? events.PublishAsync(outcome, ct) : Task.CompletedTask;
}
