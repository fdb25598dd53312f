namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// The one flag cache: this replica's evaluation snapshot (Evaluation's <c>FlagSnapshotStore</c> implements it), kept
/// current from the change feed by revision. OFREP, REST reads (<see cref="FlagReader"/>) and telemetry attribution all
/// read it; a flag it does not hold is read from the database (and not put back: only the feed moves the snapshot, so
/// a slow read can never bring back a flag deleted meanwhile).
/// </summary>
public interface IFlagCache
{
    /// <summary>The flag of this id, else of this name; null when not held.</summary>
    Flag? Find(string idOrName);

    /// <summary>The flag an OpenFeature key names; null when not held.</summary>
    Flag? FindByKey(string key);

    /// <summary>
    /// This replica's own committed change, applied before the writer answers (read your writes). Entries only move
    /// forward (a flag's version), and a deleted flag never comes back.
    /// </summary>
    void Apply(FeedEntry entry);

    /// <summary>The newest feed revision this cache reflects completely (every revision up to it is in).</summary>
    long Revision { get; }
}
