using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>Change one environment's configuration of a flag; <see cref="IfMatch"/> (the configuration's version) makes it conditional.</summary>
public sealed record PatchConfigurationCommand(string IdOrName, string Environment, PatchConfigurationRequest Patch, long? IfMatch, string ChangedBy)
{
    public Actor? Actor { get; init; }
    /// <summary><c>?bypass=true</c>: an admin applies directly in a protected environment (<see cref="IChangeGate"/>).</summary>
    public bool Bypass { get; init; }
    /// <summary>Set only when an approved change request is applied: the approver's key name; the gate is not asked again.</summary>
    public string? ApprovedBy { get; init; }
}

/// <summary>Copy the configuration of <see cref="From"/> into <see cref="Environment"/>; <see cref="IfMatch"/> is the target's version.</summary>
public sealed record PromoteCommand(string IdOrName, string Environment, string From, long? IfMatch, string ChangedBy)
{
    public Actor? Actor { get; init; }
    public bool Bypass { get; init; }
}

/// <summary>
/// One mutation of one environment's configuration inside a caller's transaction (which holds the flag's lock): write
/// <see cref="After"/> over <see cref="Before"/>, both of the same environment. For the flag's home environment this is
/// exactly <see cref="FlagService.MutateAsync"/> of the seed-shaped flag; elsewhere the change row, its prediction and its
/// outbox entry are logged in that environment.
/// </summary>
public sealed record ConfigurationMutationRequest(Flag Flag, FlagConfiguration Before, FlagConfiguration After, string ChangedBy)
{
    public Actor? Actor { get; init; }
    /// <summary>The reason as the change type (<c>rolled_back</c>); otherwise the diff decides.</summary>
    public ChangeType? ChangeType { get; init; }
    public string? Reason { get; init; }
    /// <summary>The key name that approved the change request this write applies (issue 27).</summary>
    public string? ApprovedBy { get; init; }
}

public sealed partial class FlagService
{
    /// <summary>
    /// The flag's configurations in the environments' promotion order (environments the registry does not know last, by
    /// name), those <paramref name="actor"/> may see only. Read from the database: a configuration read is never older than
    /// the write it follows, on any replica.
    /// </summary>
    public async Task<(Flag Flag, List<FlagConfiguration> Items)?> ListConfigurationsAsync(Actor? actor, string idOrName, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        if (flag is null) return null;
        var stored = await FlagConfigurationStore.ListAsync(conn, null, flag.Id, ct);
        var order = environments is null ? [] : await environments.OrderAsync(conn, null, ct);
        var position = order.Select((e, i) => (e.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        // an environment created while the flag was being created may have no row yet: it serves the flag disabled
        foreach (var e in order)
            if (!e.Retired && stored.All(c => c.Environment != e.Name)) stored.Add(FlagConfigurations.Disabled(flag, e.Name, flag.CreatedAt, version: 0));
        var items = stored.Where(c => actor.Sees(c.Environment))
            .OrderBy(c => position.TryGetValue(c.Environment, out var p) ? p : int.MaxValue).ThenBy(c => c.Environment, StringComparer.Ordinal)
            .ToList();
        return (flag, items);
    }

    /// <summary>Every flag as <paramref name="environment"/> serves it, by name; null when there is no such environment.</summary>
    public async Task<List<EnvironmentFlag>?> ListEnvironmentFlagsAsync(string environment, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        if (environments is not null && (await environments.OrderAsync(conn, null, ct)).All(e => e.Name != environment)) return null;
        var configurations = await FlagConfigurationStore.ListEnvironmentAsync(conn, null, environment, ct);
        var flags = await FlagStore.ListAllAsync(conn, null, ct);
        return flags.OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => EnvironmentFlag.Of(f, configurations.TryGetValue(f.Id, out var c) ? c : FlagConfigurations.Disabled(f, environment, f.CreatedAt, version: 0)))
            .ToList();
    }

    /// <summary>
    /// The one way an editor changes a configuration (the seam a change-request gate goes in front of): validated as the
    /// flag PATCH, conditional on <see cref="PatchConfigurationCommand.IfMatch"/>, one change row in that environment.
    /// </summary>
    public Task<FlagWriteResult> PatchConfigurationAsync(PatchConfigurationCommand command, CancellationToken ct) =>
        WriteConfigurationAsync(command.IdOrName, command.Environment, command.IfMatch, command.Actor, Gating(command.Bypass, command.ApprovedBy),
            PatchDecision(command), ct);

    /// <summary>
    /// <see cref="PatchConfigurationAsync"/> inside the caller's transaction: ChangeRequests applies an approved request
    /// through here, in the transaction that decides it (the caller commits when <see cref="PatchOutcome.Commits"/>).
    /// </summary>
    public Task<PatchOutcome> PatchConfigurationWithinAsync(WriteScope s, PatchConfigurationCommand command, CancellationToken ct) =>
        WriteConfigurationWithinAsync(s, command.IdOrName, command.Environment, command.IfMatch, command.Actor, Gating(command.Bypass, command.ApprovedBy),
            PatchDecision(command), ct);

    private static (bool Bypass, string? ApprovedBy) Gating(bool bypass, string? approvedBy) => (bypass, approvedBy);

    private Func<WriteScope, Flag, FlagConfiguration, IReadOnlyList<EnvironmentEntry>?, Task<(ConfigurationMutationRequest? Request, FlagWriteResult? Refused)>>
        PatchDecision(PatchConfigurationCommand command) => (s, flag, target, _) =>
        {
            var after = FlagConfigurations.Apply(target, command.Patch);
            var p = command.Patch;
            if (CheckDefinition(FlagConfigurations.View(flag, after), null, p.DefaultVariant, p.OffVariant) is { } invalid)
                return Task.FromResult<(ConfigurationMutationRequest?, FlagWriteResult?)>((null, new FlagWriteResult.Invalid(invalid)));
            return Task.FromResult<(ConfigurationMutationRequest?, FlagWriteResult?)>(
                (new ConfigurationMutationRequest(flag, target, after, command.ChangedBy) { Actor = command.Actor, ApprovedBy = command.ApprovedBy }, null));
        };

    /// <summary>
    /// Copies the source environment's configuration (enabled, rollout, targeting, default/off variant, auto-rollback) into
    /// the target: one change row in the target whose reason names the source and the version it copied; nothing when
    /// they already serve the same.
    /// </summary>
    public Task<FlagWriteResult> PromoteAsync(PromoteCommand command, CancellationToken ct) =>
        WriteConfigurationAsync(command.IdOrName, command.Environment, command.IfMatch, command.Actor, Gating(command.Bypass, null), async (s, flag, target, order) =>
        {
            if (CheckSource(command.Actor, command.From, command.Environment, order) is { } refused) return (null, refused);
            var source = await LoadConfigurationAsync(s.Connection, s.Transaction, flag, command.From, ct);
            var after = FlagConfigurations.CopySettings(target, source);
            if (CheckDefinition(FlagConfigurations.View(flag, after), null, null, null) is { } invalid) return (null, new FlagWriteResult.Invalid(invalid));
            return (new ConfigurationMutationRequest(flag, target, after, command.ChangedBy)
            {
                Actor = command.Actor,
                Reason = PromotionReason(command.From, source.Version),
            }, null);
        }, ct);

    public static string PromotionReason(string from, long version) => $"promoted from {from} (configuration version {version})";

    /// <summary>What <see cref="PromoteAsync"/> would apply, without applying it.</summary>
    public async Task<FlagWriteResult> PreviewPromotionAsync(Actor? actor, string idOrName, string environment, string from, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        if (flag is null || !actor.Sees(environment)) return new FlagWriteResult.NotFound();
        var order = environments is null ? null : await environments.OrderAsync(conn, null, ct);
        if (order is not null && order.All(e => e.Name != environment)) return new FlagWriteResult.UnknownEnvironment(environment);
        if (CheckSource(actor, from, environment, order) is { } refused) return refused;
        var source = await LoadConfigurationAsync(conn, null, flag, from, ct);
        var target = await LoadConfigurationAsync(conn, null, flag, environment, ct);
        return new FlagWriteResult.Previewed(new PromotionDiff(from, environment, source.Version, FlagConfigurations.Diff(target, source)));
    }

    private static FlagWriteResult? CheckSource(Actor? actor, string from, string to, IReadOnlyList<EnvironmentEntry>? order)
    {
        if (from == to) return new FlagWriteResult.Invalid(new Validator().Add("from", "is the environment promoted into; name another"));
        if (order is not null && order.All(e => e.Name != from))
            return new FlagWriteResult.Invalid(new Validator().Add("from", $"no environment is named '{from}'"));
        if (!actor.Sees(from)) return new FlagWriteResult.Forbidden($"from: {FlagScope.ForbiddenDetail(actor, from)}");
        return null;
    }

    /// <summary>
    /// The read-check-write of a configuration write: the flag under its lock, the environment known and not retired, the
    /// precondition, then what <paramref name="decide"/> makes of the current configuration, through
    /// <see cref="MutateConfigurationAsync"/>; committed, then handed to the feed.
    /// </summary>
    private async Task<FlagWriteResult> WriteConfigurationAsync(string idOrName, string environment, long? ifMatch, Actor? actor,
        (bool Bypass, string? ApprovedBy) gating,
        Func<WriteScope, Flag, FlagConfiguration, IReadOnlyList<EnvironmentEntry>?, Task<(ConfigurationMutationRequest? Request, FlagWriteResult? Refused)>> decide,
        CancellationToken ct)
    {
        PatchOutcome outcome;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            outcome = await WriteConfigurationWithinAsync(s, idOrName, environment, ifMatch, actor, gating, decide, ct);
            if (!outcome.Commits) return outcome.Result;
            await s.CommitAsync(ct);
        }
        await outcome.AfterCommitAsync(this, ct);
        return outcome.Result;
    }

    /// <summary>
    /// The read-check-write of a configuration write inside the caller's transaction: the flag under its lock, the
    /// environment known and not retired, the precondition, then what <paramref name="decide"/> makes of the current
    /// configuration, then the gate of a protected environment (<see cref="IChangeGate"/>; not asked again when an approved
    /// request is applied), then <see cref="MutateConfigurationAsync"/>.
    /// </summary>
    private async Task<PatchOutcome> WriteConfigurationWithinAsync(WriteScope s, string idOrName, string environment, long? ifMatch, Actor? actor,
        (bool Bypass, string? ApprovedBy) gating,
        Func<WriteScope, Flag, FlagConfiguration, IReadOnlyList<EnvironmentEntry>?, Task<(ConfigurationMutationRequest? Request, FlagWriteResult? Refused)>> decide,
        CancellationToken ct)
    {
        var flag = await FlagStore.FindForWriteAsync(s, idOrName, ct);
        // the middleware refused a scoped key another environment; this keeps the rule where the write is
        if (flag is null || !actor.Sees(environment)) return new(new FlagWriteResult.NotFound());
        var order = environments is null ? null : await environments.OrderAsync(s.Connection, s.Transaction, ct);
        var entry = order?.FirstOrDefault(e => e.Name == environment);
        if (order is not null && entry is null) return new(new FlagWriteResult.UnknownEnvironment(environment));
        if (entry is { Retired: true })
            return new(new FlagWriteResult.Invalid(new Validator().Add("environment", $"the environment '{environment}' is retired: its configurations are not changed")));
        var before = await LoadConfigurationAsync(s.Connection, s.Transaction, flag, environment, ct);
        if (ifMatch is { } v && v != before.Version) return new(new FlagWriteResult.Stale(before.Version));
        var (request, refused) = await decide(s, flag, before, order);
        if (refused is not null) return new(refused);
        if (gating.ApprovedBy is null && gate is not null)
        {
            var (viewBefore, viewAfter) = (FlagConfigurations.View(flag, before), FlagConfigurations.View(flag, request!.After));
            var (prev, next) = FlagDiff.Changed(viewBefore, viewAfter);
            if (next.Count > 0)
            {
                var diff = next.Select(kv => new FieldChange(kv.Key, prev[kv.Key] is { } p ? FlagDiff.ToElement(p) : null, kv.Value is { } n ? FlagDiff.ToElement(n) : null)).ToList();
                var a = request.After;
                // the request stores the configuration it would write, as a patch: an approval applies it to the version it was made against
                var patch = new PatchConfigurationRequest(a.Enabled, a.RolloutPercentage, a.Targeting, a.DefaultVariant, a.OffVariant, a.AutoRollback, request.ChangedBy);
                var decision = await gate.CheckAsync(s, new ChangeGateRequest(environment, flag, ChangeGateTargets.Configuration,
                    JsonSerializer.SerializeToElement(patch, Json.Options), before.Version, diff, actor, request.ChangedBy) { Bypass = gating.Bypass }, ct);
                switch (decision)
                {
                    case ChangeGateDecision.Held held: return new(new FlagWriteResult.Held(held.ChangeRequest), AfterHeld: held.AfterCommit);
                    case ChangeGateDecision.Refused no: return new(new FlagWriteResult.Forbidden(no.Detail));
                    case ChangeGateDecision.Proceed { Reason: { } why }: request = request with { Reason = request.Reason is null ? why : $"{request.Reason}; {why}" }; break;
                }
            }
        }
        var m = await MutateConfigurationAsync(s, request!, ct);
        if (m is null) return new(new FlagWriteResult.ConfigurationDone(flag, before));
        var written = m.Configurations?.FirstOrDefault(c => c.Environment == environment) ?? before;
        return new(new FlagWriteResult.ConfigurationDone(m.After ?? flag, written, m.Change, m.Prediction), m);
    }

    /// <summary>The flag's configuration in <paramref name="environment"/>; a disabled one of version 0 when none is stored yet.</summary>
    public static async Task<FlagConfiguration> LoadConfigurationAsync(System.Data.Common.DbConnection conn, System.Data.Common.DbTransaction? tx, Flag flag,
        string environment, CancellationToken ct) =>
        await FlagConfigurationStore.GetAsync(conn, tx, flag.Id, environment, ct)
        ?? (environment == flag.TargetEnvironment ? FlagConfigurations.HomeOf(flag, version: 0) : FlagConfigurations.Disabled(flag, environment, flag.UpdatedAt, version: 0));

    /// <summary>
    /// Writes one environment's configuration inside the caller's transaction, which must hold the flag's lock
    /// (<see cref="WriteLock.Flag"/>), with its change row (logged in that environment), prediction and outbox entry.
    /// For the home environment it is <see cref="MutateAsync"/> of the seed-shaped flag. Returns null when nothing changed:
    /// then nothing is written or logged. The caller commits, then calls <see cref="AfterCommitAsync"/>.
    /// </summary>
    public async Task<FlagMutation?> MutateConfigurationAsync(WriteScope s, ConfigurationMutationRequest r, CancellationToken ct)
    {
        var (flag, before, after) = (r.Flag, r.Before, r.After);
        var environment = before.Environment;
        if (after.Environment != environment)
            throw new ArgumentException($"A configuration of '{environment}' cannot be written as one of '{after.Environment}'.", nameof(r));
        if (environment == flag.TargetEnvironment)
            return await MutateAsync(s, new FlagMutationRequest(flag, FlagConfigurations.WithHome(flag, after), r.ChangedBy)
            {
                Actor = r.Actor, ChangeType = r.ChangeType, Reason = r.Reason, ApprovedBy = r.ApprovedBy,
            }, ct);

        var (viewBefore, viewAfter) = (FlagConfigurations.View(flag, before), FlagConfigurations.View(flag, after));
        var (prevDiff, nextDiff) = FlagDiff.Changed(viewBefore, viewAfter);
        if (nextDiff.Count == 0) return null;
        if (!s.Holds(flag.Id)) throw new InvalidOperationException($"Flag {flag.Id} is written in a transaction holding {s.Lock}, not the flag's lock.");

        var now = clock.GetUtcNow();
        var stored = after with { Version = before.Version + 1, UpdatedAt = now };
        if (!await FlagConfigurationStore.WriteAsync(s, flag.Id, stored, before.Version, ct))
            throw new InvalidOperationException($"The configuration of flag {flag.Id} in {environment} changed inside a write transaction.");

        var change = NewChange(flag, r.ChangeType ?? FlagDiff.Classify(viewBefore, viewAfter), r.ChangedBy, r.Actor, now,
            FlagDiff.ToElement(prevDiff), FlagDiff.ToElement(nextDiff), environment, r.Reason) with { PredictionId = Ids.New("prd", clock), ApprovedBy = r.ApprovedBy };
        var prediction = await predictions.PredictAsync(s, viewBefore, viewAfter with { UpdatedAt = now }, change, ct);
        var m = new FlagMutation(flag, flag, change, prediction)
        {
            Configurations = await FlagConfigurationStore.ListAsync(s.Connection, s.Transaction, flag.Id, ct),
        };
        await feed.EnlistAsync(s, m, ct);
        return m;
    }

    /// <summary>
    /// Keeps the home configuration's row equal to the seed-shaped flag's fields after <see cref="MutateAsync"/> wrote it.
    /// Moving home swaps the two environments' rows: the configuration goes with the flag, and what the new home had goes
    /// to the old one, so no configuration is created or lost. Returns the flag's configurations as written.
    /// </summary>
    private async Task<List<FlagConfiguration>> SyncHomeAsync(WriteScope s, Flag before, Flag after, DateTimeOffset now, CancellationToken ct)
    {
        var rows = await FlagConfigurationStore.ListAsync(s.Connection, s.Transaction, before.Id, ct);
        FlagConfiguration Stored(string env, Flag f) => rows.FirstOrDefault(c => c.Environment == env)
            ?? (env == f.TargetEnvironment ? FlagConfigurations.HomeOf(f, version: 0) : FlagConfigurations.Disabled(f, env, now, version: 0));

        var oldHome = Stored(before.TargetEnvironment, before);
        var newHome = Stored(after.TargetEnvironment, before);
        var writes = new List<(FlagConfiguration Row, long Expected)>();
        var home = FlagConfigurations.HomeOf(after) with { Version = newHome.Version + 1, UpdatedAt = now };
        if (before.TargetEnvironment != after.TargetEnvironment)
        {
            writes.Add((home, newHome.Version));
            writes.Add((FlagConfigurations.CopySettings(oldHome, newHome) with { Version = oldHome.Version + 1, UpdatedAt = now }, oldHome.Version));
        }
        else if (!FlagConfigurations.SameSettings(oldHome, home) || oldHome.Version == 0) writes.Add((home, oldHome.Version));

        foreach (var (row, expected) in writes)
        {
            if (!await FlagConfigurationStore.WriteAsync(s, before.Id, row, expected, ct))
                throw new InvalidOperationException($"The configuration of flag {before.Id} in {row.Environment} changed inside a write transaction.");
            rows.RemoveAll(c => c.Environment == row.Environment);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A new flag's configurations: home as given, every other environment that is not retired disabled.</summary>
    private async Task<List<FlagConfiguration>> ConfigureNewFlagAsync(WriteScope s, Flag flag, CancellationToken ct)
    {
        var rows = new List<FlagConfiguration> { FlagConfigurations.HomeOf(flag) };
        if (environments is not null)
            foreach (var e in await environments.OrderAsync(s.Connection, s.Transaction, ct))
                if (!e.Retired && e.Name != flag.TargetEnvironment) rows.Add(FlagConfigurations.Disabled(flag, e.Name, flag.CreatedAt));
        foreach (var row in rows) await FlagConfigurationStore.InsertAsync(s, flag.Id, row, ct);
        return rows;
    }
}

/// <summary>Flags' side of a new environment (<see cref="IEnvironmentFlags"/>): every flag gets a disabled configuration there.</summary>
internal sealed class EnvironmentFlagRows(TimeProvider clock) : IEnvironmentFlags
{
    public Task ConfigureEveryFlagAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string environment,
        CancellationToken ct) => FlagConfigurationStore.ConfigureEveryFlagAsync(connection, transaction, environment, clock.GetUtcNow(), ct);
}
