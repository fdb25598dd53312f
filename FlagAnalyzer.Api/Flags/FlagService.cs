using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>Create a flag; <see cref="ChangedBy"/> is logged on its change row.</summary>
public sealed record CreateFlagCommand(CreateFlagRequest Flag, string ChangedBy)
{
    /// <summary>Who called (logged as actorKeyId/actorName); ChangedBy is only "on behalf of".</summary>
    public Actor? Actor { get; init; }
}

/// <summary>Patch a flag; <see cref="IfMatch"/> (a version) makes it conditional.</summary>
public sealed record PatchFlagCommand(string IdOrName, PatchFlagRequest Patch, long? IfMatch, string ChangedBy)
{
    public Actor? Actor { get; init; }
    /// <summary><c>?bypass=true</c>: an admin applies directly in a protected environment (logged as such).</summary>
    public bool Bypass { get; init; }
    /// <summary>Set only when an approved change request is applied: the approver's key name; the gate is not asked again.</summary>
    public string? ApprovedBy { get; init; }
}

public sealed record DeleteFlagCommand(string IdOrName, long? IfMatch, string ChangedBy)
{
    public Actor? Actor { get; init; }
}

/// <summary>The seed's change record, with its <c>newValue</c> already read as a patch (<see cref="FlagRules.Validate(RecordChangeRequest, out PatchFlagRequest?)"/>).</summary>
public sealed record RecordChangeCommand(RecordChangeRequest Change, ChangeType ChangeType, PatchFlagRequest? Patch)
{
    public Actor? Actor { get; init; }
    public bool Bypass { get; init; }
}

/// <summary>What a flag write did: exactly one of these.</summary>
public abstract record FlagWriteResult
{
    private FlagWriteResult() { }

    /// <summary>
    /// Written (or, for a patch that changes nothing, left as it was: <see cref="Change"/> is null). For a delete,
    /// <see cref="Flag"/> is the flag as it was.
    /// </summary>
    public sealed record Done(Flag Flag, FlagChange? Change = null, PredictedChange? Prediction = null) : FlagWriteResult;

    public sealed record NotFound : FlagWriteResult;

    /// <summary>Another flag has the name.</summary>
    public sealed record NameTaken(string Detail) : FlagWriteResult;

    /// <summary>The If-Match version is not the flag's.</summary>
    public sealed record Stale(long CurrentVersion) : FlagWriteResult;

    /// <summary>The flag as it would be stored cannot be served (variants, default/off variant, targeting); nothing was written.</summary>
    public sealed record Invalid(Validator Errors) : FlagWriteResult;

    /// <summary>The request names the change as something it is not (e.g. <c>changeType</c> "enabled" for a change that disables).</summary>
    public sealed record Contradiction(string Field, string Detail) : FlagWriteResult;

    /// <summary>The flag would be stored in an environment the caller may not reach (<see cref="FlagScope"/>); nothing was written.</summary>
    public sealed record Forbidden(string Detail) : FlagWriteResult;

    /// <summary>
    /// A configuration written (or, when it changed nothing, left as it was: <see cref="Change"/> is null); <see cref="Flag"/>
    /// is the seed-shaped flag after the write.
    /// </summary>
    public sealed record ConfigurationDone(Flag Flag, FlagConfiguration Configuration, FlagChange? Change = null, PredictedChange? Prediction = null)
        : FlagWriteResult;

    /// <summary>No environment has this name.</summary>
    public sealed record UnknownEnvironment(string Name) : FlagWriteResult;

    /// <summary>What a promotion would apply (nothing was written).</summary>
    public sealed record Previewed(PromotionDiff Diff) : FlagWriteResult;

    /// <summary>Not applied: the environment is protected and a pending change request holds it (<see cref="IChangeGate"/>).</summary>
    public sealed record Held(ChangeRequest ChangeRequest) : FlagWriteResult;
}

/// <summary>
/// A committed or about-to-commit mutation: what to tell the cache, the live clients and the refiners once
/// the transaction is durable.
/// </summary>
public sealed record FlagMutation(Flag? Before, Flag? After, FlagChange Change, PredictedChange? Prediction)
{
    /// <summary>Every configuration of the flag after the mutation (issue 26); null for a delete.</summary>
    public IReadOnlyList<FlagConfiguration>? Configurations { get; init; }

    /// <summary>The feed's entry for this mutation (its change carries the revision once committed).</summary>
    public FeedEntry ToEntry() => new(Change.Revision, Change, After ?? Before!, After is null) { Prediction = Prediction, Configurations = Configurations };
}

/// <summary>
/// One mutation inside a caller's transaction: write <see cref="After"/> over <see cref="Before"/>. What the change
/// row logs — previous and new values, and the change type unless <see cref="ChangeType"/> gives the reason
/// (<c>rolled_back</c>) — always comes from the diff of the two, and a mutation that changes nothing logs nothing.
/// </summary>
public sealed record FlagMutationRequest(Flag Before, Flag After, string ChangedBy)
{
    /// <summary>Who made the change: a key, or a system actor such as the guardian.</summary>
    public Actor? Actor { get; init; }
    public ChangeType? ChangeType { get; init; }
    public string? Reason { get; init; }
    /// <summary>The key name that approved the change request this mutation applies (the change row's <c>approvedBy</c>).</summary>
    public string? ApprovedBy { get; init; }
}

/// <summary>
/// Every flag mutation goes through here: the flag row, its <c>flag_changes</c> row, its prediction and its outbox row
/// (with the change's revision, <see cref="ChangeFeed"/>) are written in one transaction; after the commit the writer's
/// snapshot takes the change and the dispatcher hands it to the feed's subscribers (<see cref="ChangeDispatcher"/>).
/// </summary>
public sealed partial class FlagService(Db db, IFlagCache cache, IChangePredictor predictions, ChangeFeed feed, ChangeDispatcher dispatcher,
    TimeProvider clock, IFlagDefinitionCheck? definitionCheck = null, IEnvironmentRegistry? environments = null, IChangeGate? gate = null)
{
    /// <summary>
    /// Whether the flag as it would be stored can be served. A default or off variant the request did not name,
    /// missing from the variants it gave, is reported on <c>variants</c>: that is the field the caller got wrong.
    /// </summary>
    private Validator? CheckDefinition(Flag flag, JsonElement? variantsGiven, string? defaultGiven, string? offGiven)
    {
        if (definitionCheck is null) return null;
        var problems = definitionCheck.Check(flag);
        if (problems.Count == 0) return null;
        var v = new Validator();
        var gaveVariants = variantsGiven is { ValueKind: JsonValueKind.Object };
        foreach (var (path, message) in problems)
        {
            if (gaveVariants && (path == "defaultVariant" && defaultGiven is null || path == "offVariant" && offGiven is null))
                v.Add("variants", $"has no variant '{(path == "defaultVariant" ? flag.DefaultVariant : flag.OffVariant)}' for {path}; add it or set {path}");
            else v.Add(path, message);
        }
        return v;
    }

    private static async Task<string?> KeyConflictAsync(WriteScope s, Flag flag, string? exceptId, CancellationToken ct) =>
        await FlagStore.KeyTakenAsync(s.Connection, s.Transaction, flag.Key, exceptId, ct)
            ? $"A flag with key '{flag.Key}' already exists." : null;

    /// <summary>
    /// The unique indexes on name and key are the backstop behind the checks each write makes first inside its serialised
    /// transaction: if one refuses a write anyway (SQLite's constraint error, PostgreSQL's 23505), the answer is the same
    /// 409 and nothing is written.
    /// </summary>
    private static async Task<FlagWriteResult> UniqueOrTakenAsync(Func<Task<FlagWriteResult>> write, string detail)
    {
        try
        {
            return await write();
        }
        catch (Exception e) when (Sql.IsUniqueViolation(e))
        {
            return new FlagWriteResult.NameTaken(detail);
        }
    }

    public Task<FlagWriteResult> CreateAsync(CreateFlagCommand command, CancellationToken ct) =>
        UniqueOrTakenAsync(() => CreateCoreAsync(command, ct), $"A flag named '{command.Flag.Name}' or with its key already exists.");

    public Task<FlagWriteResult> PatchAsync(PatchFlagCommand command, CancellationToken ct) =>
        UniqueOrTakenAsync(() => PatchCoreAsync(command, ct), "Another flag already has this name or key.");

    public Task<FlagWriteResult> RecordChangeAsync(RecordChangeCommand command, CancellationToken ct) =>
        UniqueOrTakenAsync(() => RecordChangeCoreAsync(command, ct), "Another flag already has this name or key.");

    private async Task<FlagWriteResult> CreateCoreAsync(CreateFlagCommand command, CancellationToken ct)
    {
        var (r, changedBy) = (command.Flag, command.ChangedBy);
        var now = clock.GetUtcNow();
        var flag = new Flag
        {
            Id = Ids.New("flg", clock),
            Name = r.Name!,
            Description = r.Description ?? "",
            Enabled = r.Enabled ?? false,
            RolloutPercentage = r.RolloutPercentage ?? 0,
            // a scoped key creates in its own environment unless it names one
            TargetEnvironment = r.TargetEnvironment ?? command.Actor?.Environment ?? FlagEnvironments.Development,
            Owner = r.Owner ?? "",
            Tags = (r.Tags ?? []).Select(t => t.Trim()).Distinct().ToList(),
            AutoRollback = r.AutoRollback ?? false,
            Key = r.Key ?? r.Name!,
            Variants = r.Variants is { ValueKind: JsonValueKind.Object } ? r.Variants : FlagVariants.Default,
            DefaultVariant = r.DefaultVariant ?? FlagVariants.On,
            OffVariant = r.OffVariant ?? FlagVariants.Off,
            Targeting = r.Targeting is { ValueKind: JsonValueKind.Object } t && t.EnumerateObject().Any() ? t : null,
            Rules = r.Rules is { ValueKind: JsonValueKind.Array } ? r.Rules : null,
            CreatedAt = now,
            UpdatedAt = now,
            Version = 1,
        };

        if (!command.Actor.MayStoreIn(flag.TargetEnvironment))
            return new FlagWriteResult.Forbidden(FlagScope.ForbiddenDetail(command.Actor, flag.TargetEnvironment));
        FlagMutation m;
        // a new id nobody else can know yet; a name or key taken meanwhile by another writer is refused by the unique
        // indexes (UniqueOrTakenAsync), not by this lock
        await using (var s = await db.BeginWriteAsync(WriteLock.Flag(flag.Id), ct))
        {
            if (CheckDefinition(flag, r.Variants, r.DefaultVariant, r.OffVariant) is { } invalid) return new FlagWriteResult.Invalid(invalid);
            if (await AdmitEnvironmentAsync(s, null, flag, "targetEnvironment", ct) is { } refused) return refused;
            if (await FlagStore.NameTakenAsync(s.Connection, s.Transaction, flag.Name, null, ct))
                return new FlagWriteResult.NameTaken($"A flag named '{flag.Name}' already exists.");
            if (await KeyConflictAsync(s, flag, null, ct) is { } taken) return new FlagWriteResult.NameTaken(taken);
            await FlagStore.InsertAsync(s, flag, ct);
            var configurations = await ConfigureNewFlagAsync(s, flag, ct);
            var change = NewChange(flag, ChangeType.Created, changedBy, command.Actor, now, null, FlagDiff.Snapshot(flag), flag.TargetEnvironment);
            m = new FlagMutation(null, flag, change, null) { Configurations = configurations };
            await feed.EnlistAsync(s, m, ct);
            await s.CommitAsync(ct);
        }
        await AfterCommitAsync(m, ct);
        return new FlagWriteResult.Done(flag, m.Change);
    }

    private async Task<FlagWriteResult> PatchCoreAsync(PatchFlagCommand command, CancellationToken ct)
    {
        PatchOutcome o;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            o = await PatchWithinAsync(s, command, ct);
            if (!o.Commits) return o.Result;
            await s.CommitAsync(ct);
        }
        await o.AfterCommitAsync(this, ct);
        return o.Result;
    }

    /// <summary>
    /// What a patch did inside a caller's transaction: the answer, and what to do once it commits — the mutation to hand to
    /// the feed, or the held change request's live event. Nothing to commit when both are null.
    /// </summary>
    public sealed record PatchOutcome(FlagWriteResult Result, FlagMutation? Mutation = null, Func<CancellationToken, Task>? AfterHeld = null)
    {
        public bool Commits => Mutation is not null || AfterHeld is not null;

        public async Task AfterCommitAsync(FlagService flags, CancellationToken ct)
        {
            if (Mutation is not null) await flags.AfterCommitAsync(Mutation, ct);
            if (AfterHeld is not null) await AfterHeld(ct);
        }
    }

    /// <summary>
    /// The seed PATCH inside the caller's transaction (which must not commit when <see cref="PatchOutcome.Commits"/> is
    /// false): every check, then the gate of a protected environment (skipped when the command applies an approved
    /// change request), then the write. ChangeRequests applies an approval through here, in the transaction that decides it.
    /// </summary>
    public async Task<PatchOutcome> PatchWithinAsync(WriteScope s, PatchFlagCommand command, CancellationToken ct)
    {
        var (idOrName, p, ifMatch, changedBy) = command;
        var before = await FlagStore.FindForWriteAsync(s, idOrName, ct);
        if (before is null || !command.Actor.Sees(before.TargetEnvironment)) return new(new FlagWriteResult.NotFound());
        if (ifMatch is { } v && v != before.Version) return new(new FlagWriteResult.Stale(before.Version));
        if (p.TargetEnvironment is { } moveTo && !command.Actor.MayStoreIn(moveTo))
            return new(new FlagWriteResult.Forbidden(FlagScope.ForbiddenDetail(command.Actor, moveTo)));
        if (p.Name is not null && p.Name != before.Name && await FlagStore.NameTakenAsync(s.Connection, s.Transaction, p.Name, before.Id, ct))
            return new(new FlagWriteResult.NameTaken($"A flag named '{p.Name}' already exists."));

        var after = FlagDiff.Apply(before, p);
        if (CheckDefinition(after, p.Variants, p.DefaultVariant, p.OffVariant) is { } invalid) return new(new FlagWriteResult.Invalid(invalid));
        if (await AdmitEnvironmentAsync(s, before, after, "targetEnvironment", ct) is { } refused) return new(refused);
        if (after.Key != before.Key && await KeyConflictAsync(s, after, before.Id, ct) is { } taken) return new(new FlagWriteResult.NameTaken(taken));
        string? reason = null;
        if (command.ApprovedBy is null)
        {
            switch (await GateAsync(s, before, after, p, command.Actor, changedBy, command.Bypass, ct))
            {
                case ChangeGateDecision.Held held: return new(new FlagWriteResult.Held(held.ChangeRequest), AfterHeld: held.AfterCommit);
                case ChangeGateDecision.Refused no: return new(new FlagWriteResult.Forbidden(no.Detail));
                case ChangeGateDecision.Proceed go: reason = go.Reason; break;
            }
        }
        var m = await MutateAsync(s, new FlagMutationRequest(before, after, changedBy) { Actor = command.Actor, Reason = reason, ApprovedBy = command.ApprovedBy }, ct);
        if (m is null) return new(new FlagWriteResult.Done(before));
        return new(new FlagWriteResult.Done(m.After ?? before, m.Change, m.Prediction), m);
    }

    /// <summary>
    /// Asks the gate about a change of the home configuration from <paramref name="before"/> to <paramref name="after"/>;
    /// a change that changes nothing is not asked about (nothing would be written or logged).
    /// </summary>
    private async Task<ChangeGateDecision> GateAsync(WriteScope s, Flag before, Flag after, PatchFlagRequest patch, Actor? actor, string changedBy,
        bool bypass, CancellationToken ct)
    {
        if (gate is null) return new ChangeGateDecision.Proceed();
        var (prev, next) = FlagDiff.Changed(before, after);
        if (next.Count == 0) return new ChangeGateDecision.Proceed();
        var diff = next.Select(kv => new FieldChange(kv.Key, ToElement(prev[kv.Key]), ToElement(kv.Value))).ToList();
        return await gate.CheckAsync(s, new ChangeGateRequest(before.TargetEnvironment, before, "flag",
            JsonSerializer.SerializeToElement(patch with { ChangedBy = changedBy }, Json.Options), before.Version, diff, actor, changedBy)
        { Bypass = bypass }, ct);

        static JsonElement? ToElement(System.Text.Json.Nodes.JsonNode? n) => n is null ? null : FlagDiff.ToElement(n);
    }

    public async Task<FlagWriteResult> DeleteAsync(DeleteFlagCommand command, CancellationToken ct)
    {
        var (idOrName, ifMatch, changedBy) = command;
        FlagMutation m;
        Flag deleted;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var before = await FlagStore.FindForWriteAsync(s, idOrName, ct);
            if (before is null || !command.Actor.Sees(before.TargetEnvironment)) return new FlagWriteResult.NotFound();
            if (ifMatch is { } v && v != before.Version) return new FlagWriteResult.Stale(before.Version);
            deleted = before;
            await FlagStore.DeleteAsync(s, before.Id, before.Version, ct);
            await FlagConfigurationStore.DeleteAllAsync(s, before.Id, ct);
            var change = NewChange(before, ChangeType.Deleted, changedBy, command.Actor, clock.GetUtcNow(), FlagDiff.Snapshot(before), null, before.TargetEnvironment);
            m = new FlagMutation(before, null, change, null);
            await feed.EnlistAsync(s, m, ct);
            await s.CommitAsync(ct);
        }
        await AfterCommitAsync(m, ct);
        return new FlagWriteResult.Done(deleted, m.Change);
    }

    /// <summary>
    /// The seed's change record: brings the flag to <c>newValue</c> and logs what really changed. The change type and
    /// the previous value are the server's, from the flag as it was and as it becomes (the client's
    /// <c>previousValue</c> is not trusted); a <c>changeType</c> that says otherwise is refused
    /// (<see cref="FlagWriteResult.Contradiction"/>), and a change that changes nothing writes no row, no prediction,
    /// and so moves no detection baseline (<see cref="FlagWriteResult.Done"/> without a change).
    /// </summary>
    private async Task<FlagWriteResult> RecordChangeCoreAsync(RecordChangeCommand command, CancellationToken ct)
    {
        var (r, claimed, patch) = command;
        FlagMutation m;
        Flag written;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var before = await FlagStore.LockAndReloadAsync(s,
                (r.FlagId is { Length: > 0 } id ? await FlagStore.FindAsync(s.Connection, s.Transaction, id, ct) : null)
                ?? (r.FlagName is { Length: > 0 } name ? await FlagStore.FindAsync(s.Connection, s.Transaction, name, ct) : null), ct);
            // the flag as stored decides, never the body's environment
            if (before is null || !command.Actor.Sees(before.TargetEnvironment)) return new FlagWriteResult.NotFound();
            // the row is logged in the flag's environment; a body that names another is refused, not believed
            if (r.Environment is { } claimedEnvironment && claimedEnvironment != before.TargetEnvironment)
                return new FlagWriteResult.Contradiction("environment",
                    $"The flag is in '{before.TargetEnvironment}', not '{claimedEnvironment}'; a change is logged in its flag's environment.");
            if (patch?.TargetEnvironment is { } moveTo && !command.Actor.MayStoreIn(moveTo))
                return new FlagWriteResult.Forbidden(FlagScope.ForbiddenDetail(command.Actor, moveTo));
            patch ??= new PatchFlagRequest(null, null, null, null, null, null, null, null, null, null, null);
            // the change type implies the switch even when newValue leaves it out
            patch = claimed switch
            {
                ChangeType.Enabled when patch.Enabled is null => patch with { Enabled = true },
                ChangeType.Disabled when patch.Enabled is null => patch with { Enabled = false },
                _ => patch,
            };
            if (patch.Name is not null && patch.Name != before.Name && await FlagStore.NameTakenAsync(s.Connection, s.Transaction, patch.Name, before.Id, ct))
                return new FlagWriteResult.NameTaken($"A flag named '{patch.Name}' already exists.");

            var after = FlagDiff.Apply(before, patch);
            if (CheckDefinition(after, patch.Variants, patch.DefaultVariant, patch.OffVariant) is { } invalid)
            {
                var nested = new Validator();
                foreach (var (field, messages) in invalid.Errors) foreach (var message in messages) nested.Add($"newValue.{field}", message);
                return new FlagWriteResult.Invalid(nested);
            }
            if (after.Key != before.Key && await KeyConflictAsync(s, after, before.Id, ct) is { } taken) return new FlagWriteResult.NameTaken(taken);
            if (await AdmitEnvironmentAsync(s, before, after, "newValue.targetEnvironment", ct) is { } refused) return refused;
            if (ChangeTypeContradiction(claimed, before, after) is { } detail)
                return new FlagWriteResult.Contradiction("changeType", detail);
            string? reason = null;
            switch (await GateAsync(s, before, after, patch, command.Actor, r.ChangedBy ?? "api", command.Bypass, ct))
            {
                case ChangeGateDecision.Held held:
                    await s.CommitAsync(ct);
                    await held.AfterCommit(ct);
                    return new FlagWriteResult.Held(held.ChangeRequest);
                case ChangeGateDecision.Refused no: return new FlagWriteResult.Forbidden(no.Detail);
                case ChangeGateDecision.Proceed go: reason = go.Reason; break;
            }
            var mutation = await MutateAsync(s, new FlagMutationRequest(before, after, r.ChangedBy ?? "api")
            {
                Actor = command.Actor,
                Reason = reason,
                // rolled_back says why (the client's reason for the change); every other type is what the diff says
                ChangeType = claimed == ChangeType.RolledBack ? ChangeType.RolledBack : null,
            }, ct);
            if (mutation is null) return new FlagWriteResult.Done(before);
            m = mutation;
            written = m.After ?? before;
            await s.CommitAsync(ct);
        }
        await AfterCommitAsync(m, ct);
        return new FlagWriteResult.Done(written, m.Change, m.Prediction);
    }

    /// <summary>
    /// Why <paramref name="claimed"/> does not describe the change from <paramref name="before"/> to
    /// <paramref name="after"/>, or null when it does (or when nothing changes: then nothing is logged).
    /// <c>rolled_back</c> names a reason, not a kind, and fits any change.
    /// </summary>
    public static string? ChangeTypeContradiction(ChangeType claimed, Flag before, Flag after)
    {
        // "enabled" that leaves the flag off (or "disabled" that leaves it on) is false even when nothing changes
        if (claimed == ChangeType.Enabled && !after.Enabled) return $"'{claimed.ToWire()}' contradicts newValue: the flag would be disabled.";
        if (claimed == ChangeType.Disabled && after.Enabled) return $"'{claimed.ToWire()}' contradicts newValue: the flag would be enabled.";
        var (_, next) = FlagDiff.Changed(before, after);
        if (next.Count == 0 || claimed == ChangeType.RolledBack) return null;
        var actual = FlagDiff.Classify(before, after);
        if (claimed == actual) return null;
        var what = actual switch
        {
            ChangeType.Enabled => "enables the flag",
            ChangeType.Disabled => "disables the flag",
            ChangeType.RolloutChanged => $"moves the rollout from {before.RolloutPercentage}% to {after.RolloutPercentage}% and leaves it {(after.Enabled ? "enabled" : "disabled")}",
            _ => $"changes {string.Join(", ", next.Select(p => p.Key))} and neither the switch nor the rollout",
        };
        return $"'{claimed.ToWire()}' does not describe this change: it {what}, which is '{actual.ToWire()}'.";
    }

    /// <summary>
    /// Writes the request's flag over its previous state with its change row and prediction, inside the caller's
    /// transaction, which must hold the flag's lock (<see cref="WriteLock.Flag"/>). Returns null when nothing changed: then nothing is written or logged. The caller commits, then
    /// calls <see cref="AfterCommitAsync"/>.
    /// </summary>
    public async Task<FlagMutation?> MutateAsync(WriteScope s, FlagMutationRequest r, CancellationToken ct)
    {
        var (before, after) = (r.Before, r.After);
        var (prevDiff, nextDiff) = FlagDiff.Changed(before, after);
        if (nextDiff.Count == 0) return null;
        // without its flag's lock, another replica's read-check-write on the flag could interleave with this one
        if (!s.Holds(before.Id)) throw new InvalidOperationException($"Flag {before.Id} is written in a transaction holding {s.Lock}, not the flag's lock.");

        var now = clock.GetUtcNow();
        var stored = after with { UpdatedAt = now, Version = before.Version + 1 };
        if (!await FlagStore.UpdateAsync(s, stored, before.Version, ct))
            throw new InvalidOperationException($"Flag {before.Id} changed inside a write transaction.");

        var change = NewChange(stored, r.ChangeType ?? FlagDiff.Classify(before, after), r.ChangedBy, r.Actor, now,
            FlagDiff.ToElement(prevDiff), FlagDiff.ToElement(nextDiff),
            stored.TargetEnvironment, r.Reason) with { PredictionId = Ids.New("prd", clock), ApprovedBy = r.ApprovedBy };
        var prediction = await predictions.PredictAsync(s, before, stored, change, ct);
        var m = new FlagMutation(before, stored, change, prediction) { Configurations = await SyncHomeAsync(s, before, stored, now, ct) };
        await feed.EnlistAsync(s, m, ct);
        return m;
    }

    /// <summary>
    /// After the commit of <paramref name="m"/>: this replica's snapshot takes it before the caller answers (read your
    /// writes), then the dispatcher hands it to the feed's subscribers (live events, refinement, announcement). Never throws
    /// for a subscriber: the change is committed, and what was not dispatched is dispatched from the outbox.
    /// </summary>
    public async Task AfterCommitAsync(FlagMutation m, CancellationToken ct)
    {
        var entry = m.ToEntry();
        cache.Apply(entry);
        await dispatcher.DispatchCommittedAsync(entry, ct);
    }

    private FlagChange NewChange(Flag f, ChangeType type, string changedBy, Actor? actor, DateTimeOffset now, JsonElement? previous, JsonElement? next,
        string environment, string? reason = null) => new()
    {
        Id = Ids.New("chg", clock),
        FlagId = f.Id,
        FlagName = f.Name,
        ChangeType = type,
        PreviousValue = previous,
        NewValue = next,
        ChangedBy = changedBy,
        ActorKeyId = actor?.KeyId,
        ActorName = actor?.Name,
        Environment = environment,
        Timestamp = now,
        Reason = reason,
    };
}
