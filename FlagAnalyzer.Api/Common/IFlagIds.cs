namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Resolves a flag's id or name to its id (null when there is no such flag). Declared here so folders of the
/// same rank as Flags (Metrics) can name a flag without referencing Flags; Flags implements it.
/// </summary>
public interface IFlagIds
{
    Task<string?> ResolveAsync(string idOrName, CancellationToken ct);
}
