using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// The one guardian's ear on detection: a detection pass (Anomalies) hands it each flag that has open anomalies, with their
/// evidence, inside the pass's write transaction; the guardian (Rollouts) decides whether to roll the flag back, so the
/// rollback commits with the anomaly that caused it. Declared in Flags, the folder below both, since a rollback is a flag
/// mutation; registered in DI.
/// </summary>
public interface IRegressionGuard
{
    /// <summary>The rollback made in <paramref name="scope"/>, or null when the guardian leaves the flag as it is.</summary>
    Task<GuardRollback?> OnAnomaliesAsync(WriteScope scope, FlagAnomalies open, CancellationToken ct);

    /// <summary>After commit: announces the rollback (the flag's change, and the plan it ended, if any).</summary>
    Task AfterCommitAsync(GuardRollback rollback, CancellationToken ct);
}

/// <summary>
/// A flag's anomalies still open after a detection pass (raised, escalated or ongoing), with the comparison they came
/// from: what the guardian acts on.
/// </summary>
public sealed record FlagAnomalies(Flag Flag, FlagAnalysis Analysis, IReadOnlyList<Anomaly> Anomalies);

/// <summary>
/// A rollback the guardian made; it derives from this to carry what it announces after commit. <see cref="Mutation"/> is
/// null when the environment holds the guardian's rollback for approval (issue 27): nothing was rolled back yet, but the
/// plan's pause and the change request are announced.
/// </summary>
public abstract record GuardRollback(FlagMutation? Mutation);
