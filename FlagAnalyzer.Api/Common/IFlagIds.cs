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
