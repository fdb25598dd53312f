using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Placeholder until the statistical detector lands (issue "impact analysis"); raises nothing.</summary>
public sealed class PendingAnomalyMonitor : IAnomalyMonitor
{
    public Task<DetectionOutcome> DetectAsync(WriteScope scope, IReadOnlyCollection<string> flagIds, CancellationToken ct) =>
        Task.FromResult(DetectionOutcome.None);
}
