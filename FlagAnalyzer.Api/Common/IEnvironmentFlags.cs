using System.Data.Common;

namespace FlagAnalyzer.Api.Common;

/// <summary>An environment as the promotion order lists it (<see cref="IEnvironmentRegistry.OrderAsync"/>).</summary>
public sealed record EnvironmentEntry(string Name, bool Retired);

/// <summary>
/// What Environments asks of Flags when an environment comes into being (issue 26: every flag is configured in every
/// environment). Declared here so Environments, of Flags' rank, needs no reference to it; Flags implements it.
/// </summary>
public interface IEnvironmentFlags
{
    /// <summary>Inside the caller's write transaction: gives every flag a disabled configuration in <paramref name="environment"/>.</summary>
    Task ConfigureEveryFlagAsync(DbConnection connection, DbTransaction transaction, string environment, CancellationToken ct);
}
