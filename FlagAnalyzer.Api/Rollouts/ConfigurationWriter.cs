using System.Data.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// The one way Rollouts reads and writes a flag's configuration in an environment (a plan's stage, a rollback, a
/// schedule), issue 26. Rollouts reasons about a seed-shaped <see cref="Flag"/>: for an environment other than the
/// flag's home it works on the flag's VIEW there (<see cref="ViewAsync"/>: the definition with that environment's
/// configuration, <see cref="Flag.TargetEnvironment"/> = the environment), and <see cref="WriteAsync"/> turns a step on
/// the view back into a write of that one configuration (<see cref="FlagService.MutateConfigurationAsync"/>), so a plan in
/// staging never touches production's configuration and the guardian reads the environment whose samples regressed.
/// </summary>
public static class ConfigurationWriter
{
    public const string NoSuchEnvironment = "no environment of this name configures the flag";

    /// <summary>
    /// The flag as <paramref name="environment"/> serves it: itself for its home, else its view there; null when the flag
    /// has no configuration there (no such environment: every environment configures every flag).
    /// </summary>
    public static async Task<Flag?> ViewAsync(DbConnection conn, DbTransaction? tx, Flag flag, string environment, CancellationToken ct) =>
        environment == flag.TargetEnvironment ? flag
        : await FlagConfigurationStore.GetAsync(conn, tx, flag.Id, environment, ct) is { } c ? FlagConfigurations.View(flag, c) : null;

    /// <summary>The flag as <paramref name="environment"/> serves it after <paramref name="m"/> (its configurations as written).</summary>
    public static Flag ViewAfter(FlagMutation m, string environment)
    {
        var flag = m.After ?? m.Before!;
        return environment == flag.TargetEnvironment || m.Configurations?.FirstOrDefault(c => c.Environment == environment) is not { } c
            ? flag : FlagConfigurations.View(flag, c);
    }

    /// <summary>
    /// Writes the step <paramref name="request"/> describes (from its Before to its After, both as
    /// <paramref name="environment"/> serves the flag) to that environment's configuration, in the caller's transaction,
    /// which holds the flag's lock.
    /// </summary>
    public static async Task<FlagMutation?> WriteAsync(FlagService flags, WriteScope s, string environment, FlagMutationRequest request, CancellationToken ct)
    {
        var stored = await FlagStore.FindAsync(s.Connection, s.Transaction, request.Before.Id, ct)
            ?? throw new InvalidOperationException($"Flag {request.Before.Id} is gone inside a write transaction that holds its lock.");
        if (environment == stored.TargetEnvironment) return await flags.MutateAsync(s, request with { Before = stored }, ct);
        var before = await FlagService.LoadConfigurationAsync(s.Connection, s.Transaction, stored, environment, ct);
        var a = request.After;
        var after = before with
        {
            Enabled = a.Enabled, RolloutPercentage = a.RolloutPercentage, Targeting = a.Targeting,
            DefaultVariant = a.DefaultVariant, OffVariant = a.OffVariant, AutoRollback = a.AutoRollback,
        };
        return await flags.MutateConfigurationAsync(s, new ConfigurationMutationRequest(stored, before, after, request.ChangedBy)
        {
            Actor = request.Actor, ChangeType = request.ChangeType, Reason = request.Reason, ApprovedBy = request.ApprovedBy,
        }, ct);
    }
}
