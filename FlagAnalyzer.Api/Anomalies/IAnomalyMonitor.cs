using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>What one detection pass did: anomalies raised or resolved, and the rollbacks the guardian made on them.</summary>
public sealed record DetectionOutcome(IReadOnlyList<Anomaly> Detected, IReadOnlyList<Anomaly> Resolved, IReadOnlyList<GuardRollback> Rollbacks)
    : MetricsDetected(Detected)
{
    public static readonly DetectionOutcome None = new([], [], []);

    /// <summary>Open anomalies whose regression deepened: same id, higher severity.</summary>
    public IReadOnlyList<Anomaly> Escalated { get; init; } = [];
}

/// <summary>
/// Runs detection for flags inside the caller's write transaction, so samples, anomalies and rollbacks
/// commit together. The caller publishes the outcome after commit with <see cref="AnomalyEvents"/>.
/// </summary>
public interface IAnomalyMonitor
{
    /// <param name="recorded">The samples this transaction just inserted, when the caller has them: a warm window
    /// takes them as they are instead of reading them back from SQLite.</param>
    Task<DetectionOutcome> DetectAsync(WriteScope scope, IReadOnlyCollection<FlagInEnvironment> flags, CancellationToken ct,
        IReadOnlyList<MetricSample>? recorded = null);
}
