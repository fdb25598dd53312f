using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Publishes a committed detection outcome: anomaly events, then each of the guardian's rollbacks.</summary>
public sealed class AnomalyEvents(ILiveEventPublisher live, IRegressionGuard guard)
{
    public async Task PublishAsync(DetectionOutcome outcome, CancellationToken ct)
    {
        foreach (var a in outcome.Detected) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, a, a.FlagId) { Environment = a.Environment }, ct);
        // an escalation re-announces the same anomaly (same id) with its new severity; clients replace it by id
        foreach (var a in outcome.Escalated) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, a, a.FlagId) { Environment = a.Environment }, ct);
        foreach (var a in outcome.Resolved) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyResolved, a, a.FlagId) { Environment = a.Environment }, ct);
        foreach (var r in outcome.Rollbacks) await guard.AfterCommitAsync(r, ct);
    }
}
