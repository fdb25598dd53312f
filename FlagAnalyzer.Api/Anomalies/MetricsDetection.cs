using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Metrics' write-path detection (<see cref="IMetricsDetection"/>): the monitor in the transaction, its events after commit.</summary>
public sealed class MetricsDetection(IAnomalyMonitor monitor, AnomalyEvents events) : IMetricsDetection
{
    public async Task<MetricsDetected> DetectAsync(WriteScope scope, IReadOnlyCollection<FlagInEnvironment> flags, IReadOnlyList<MetricSample> recorded,
        CancellationToken ct)
    {
        return await monitor.DetectAsync(scope, flags, ct, recorded);
    }

    public Task PublishAsync(MetricsDetected detected, CancellationToken ct) =>
        detected is DetectionOutcome outcome ? events.PublishAsync(outcome, ct) : Task.CompletedTask;
}
