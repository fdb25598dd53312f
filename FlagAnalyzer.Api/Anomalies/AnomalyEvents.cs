using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Publishes a committed detection outcome: anomaly events, then each rollback like any flag mutation.</summary>
public sealed class AnomalyEvents(ILiveEventPublisher live, FlagService flags)
{
    public async Task PublishAsync(DetectionOutcome outcome, CancellationToken ct)
    {
        foreach (var a in outcome.Detected) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, a, a.FlagId), ct);
        // an escalation re-announces the same anomaly (same id) with its new severity; clients replace it by id
        foreach (var a in outcome.Escalated) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, a, a.FlagId), ct);
        foreach (var a in outcome.Resolved) await live.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyResolved, a, a.FlagId), ct);
        foreach (var m in outcome.Rollbacks) await flags.AfterCommitAsync(m, ct);
    }
}
