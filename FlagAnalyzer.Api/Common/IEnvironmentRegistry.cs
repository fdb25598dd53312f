using System.Data.Common;

namespace FlagAnalyzer.Api.Common;

/// <summary>What <see cref="IEnvironmentRegistry.AdmitAsync"/> decided about putting a flag into an environment.</summary>
public enum EnvironmentAdmission
{
    /// <summary>The environment exists and takes flags.</summary>
    Admitted,
    /// <summary>The name was not an environment yet; it is one now, last in the promotion order (same transaction).</summary>
    Registered,
    /// <summary>The environment is retired: it keeps its flags but takes no new ones.</summary>
    Retired,
}

/// <summary>
/// The environments as a resource (Environments/ owns the table). Declared here so Flags, of the same rank, can ask
/// whether a flag may go into an environment without reading another folder's table.
/// </summary>
public interface IEnvironmentRegistry
{
    /// <summary>
    /// Inside the caller's write transaction: whether a flag may be stored in <paramref name="environment"/>. A name that
    /// is not an environment yet becomes one (the seed lets a flag name any environment), so the two commit together.
    /// </summary>
    Task<EnvironmentAdmission> AdmitAsync(DbConnection connection, DbTransaction transaction, string environment, CancellationToken ct);

    /// <summary>Every environment, retired ones too, in promotion order; in the caller's transaction when it gives one.</summary>
    Task<IReadOnlyList<EnvironmentEntry>> OrderAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct);
}
