using System.Data.Common;

namespace FlagAnalyzer.Api.Common;

/// <summary>A flag's id and the environment it is stored in: what <see cref="FlagScope"/> decides on.</summary>
public sealed record FlagRef(string Id, string Environment);

/// <summary>
/// Resolves a flag's id or name to its id (null when there is no such flag). Declared here so folders of the
/// same rank as Flags (Metrics) can name a flag without referencing Flags; Flags implements it.
/// </summary>
public interface IFlagIds
{
    Task<string?> ResolveAsync(string idOrName, CancellationToken ct);

    /// <summary>The flag's id and stored environment, or null when there is no such flag.</summary>
    Task<FlagRef?> FindAsync(string idOrName, CancellationToken ct);
}

/// <summary>
/// Resolves flag ids or names inside a caller's transaction: the transaction's view, not a cache's (a flag deleted a moment
/// ago cannot receive samples). Declared here so Metrics can ask Flags, the owner of <c>feature_flags</c>, without
/// referencing it; Flags implements it.
/// </summary>
public interface IFlagLookup
{
    /// <summary>Each key that names a flag, with that flag's id and stored environment; keys that name none are absent.</summary>
    Task<Dictionary<string, FlagRef>> ResolveAsync(DbConnection conn, DbTransaction tx, IEnumerable<string> idsOrNames, CancellationToken ct);
}
