using FlagAnalyzer.Api.ChangeRequests;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using System.Data.Common;
using System.Text.Json;
using FlagAnalyzer.Api.Environments;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>A person's action on a plan (<c>POST /api/flags/{idOrName}/rollout/{action}</c>).</summary>
public enum ManualAction { Start, Pause, Resume, Abort, Promote }

/// <summary>Save a flag's plan; <see cref="Stages"/> already validated (<see cref="RolloutRules"/>).</summary>
public sealed record SaveRolloutCommand(string IdOrName, IReadOnlyList<RolloutStage> Stages, string ChangedBy)
{
    /// <summary>The environment the plan rolls out (issue 26); null: the flag's home.</summary>
    public string? Environment { get; init; }
    /// <summary>Validated guardrail names; null for the default.</summary>
    public IReadOnlyList<string>? Guardrails { get; init; }
    public int? EvidenceWaitFactor { get; init; }
    /// <summary>The key that asks (issue 27: in a protected environment an editor's plan is held for approval).</summary>
    public Actor? Actor { get; init; }
    /// <summary><c>?bypass=true</c>: an admin saves directly in a protected environment (logged as such).</summary>
    public bool Bypass { get; init; }
}

public sealed record RolloutActionCommand(string IdOrName, ManualAction Action, string ChangedBy, Actor? Actor = null)
{
    /// <summary>The environment of the plan acted on; null: the flag's home.</summary>
    public string? Environment { get; init; }
    /// <summary><c>?bypass=true</c>: an admin acts directly in a protected environment (logged on the change row).</summary>
    public bool Bypass { get; init; }
}

/// <summary>A plan as the API and live events show it: the stored plan, its flag's name, and what the guardian sees now.</summary>
public sealed record RolloutView(RolloutPlan Plan, string FlagName, RolloutDecision Evaluation)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string FlagId => Plan.FlagId;

    /// <summary>The plan's environment (issue 26).</summary>
    public string Environment => Plan.Environment;
}

public abstract record RolloutResult
{
    private RolloutResult() { }

    public sealed record Done(RolloutView View) : RolloutResult;

    public sealed record FlagNotFound : RolloutResult;

    public sealed record NoPlan : RolloutResult;

    /// <summary>The plan's state does not allow the request (one plan at a time; start only a pending plan, …).</summary>
    public sealed record Conflict(string Detail) : RolloutResult;

    /// <summary>Rollouts cannot write the configuration of the environment asked for yet (<see cref="ConfigurationWriter"/>).</summary>
    public sealed record EnvironmentNotSupported(string Environment) : RolloutResult;

    /// <summary>Not applied: the environment is protected and a pending change request holds it (issue 27).</summary>
    public sealed record Held(ChangeRequest ChangeRequest) : RolloutResult;

    /// <summary>Refused by the gate (e.g. <c>?bypass=true</c> from a key that is not an admin's); nothing stored.</summary>
    public sealed record Forbidden(string Detail) : RolloutResult;
}

/// <summary>
/// The change-request targets Rollouts holds and applies (<see cref="RolloutChangeRequests"/>): a plan saved, a person's
/// action on a plan, the guardian's rollback an environment does not exempt, a schedule.
/// </summary>
public static class RolloutChangeTargets
{
    public const string Plan = "rollout_plan";
    public const string Action = "rollout_action";
    public const string Rollback = "guardian_rollback";
    public const string Schedule = "schedule";
}

/// <summary>What detection's rollback did: the flag's change, the plan it ended or paused, and a held request's after-commit.</summary>
internal sealed record RegressionRollback(FlagMutation? Mutation, RolloutService.Applied? Plan, Func<CancellationToken, Task>? AfterHeld);

/// <summary>
/// Plans and their transitions. Every transition, a person's or the guardian's, updates the plan and writes the flag
/// through <see cref="FlagService.MutateAsync"/> in one transaction — so each is a change-log row with its reason —
/// then publishes <c>rollout.updated</c> after the commit.
/// </summary>
public sealed class RolloutService(Db db, FlagService flags, ILiveEventPublisher live, TimeProvider clock, RolloutEvidenceCache evidence,
    ILogger<RolloutService> logger, IEventOutbox? outbox = null, IChangeGate? gate = null,
    Microsoft.Extensions.Options.IOptions<Telemetry.TelemetryOptions>? telemetry = null)
{
    private readonly TimeSpan? _sampleInterval = telemetry?.Value.SampleInterval;

    public const string Guardian = "guardian";
    /// <summary>The most samples one evaluation reads (two cohorts, one sample a minute: about 17 days).</summary>
    public const int MaxSamples = 50_000;

    /// <param name="environment">The plan's environment; null: the flag's home.</param>
    public async Task<RolloutResult> GetAsync(string idOrName, CancellationToken ct, string? environment = null)
    {
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        if (flag is null) return new RolloutResult.FlagNotFound();
        var plan = await RolloutStore.CurrentAsync(conn, null, flag.Id, environment ?? flag.TargetEnvironment, ct);
        if (plan is null || await ConfigurationWriter.ViewAsync(conn, null, flag, plan.Environment, ct) is not { } served) return new RolloutResult.NoPlan();
        return new RolloutResult.Done(await ViewAsync(conn, null, served, plan, ct));
    }

    /// <summary>Plans that are running or paused, with what the guardian sees now (the dashboard's list), of the flags
    /// <paramref name="caller"/> sees (<see cref="FlagScope"/>).</summary>
    public async Task<List<RolloutView>> ActiveAsync(int limit, CancellationToken ct, Actor? caller = null)
    {
        await using var conn = await db.OpenAsync(ct);
        var plans = await RolloutStore.InStatesAsync(conn, null, [RolloutState.Running, RolloutState.Paused], limit, ct, caller.ListEnvironment());
        var views = new List<RolloutView>(plans.Count);
        foreach (var p in plans)
            if (await FlagStore.FindAsync(conn, null, p.FlagId, ct) is { } flag && caller.Sees(p.Environment)
                && await ConfigurationWriter.ViewAsync(conn, null, flag, p.Environment, ct) is { } served)
                views.Add(await ViewAsync(conn, null, served, p, ct));
        return views;
    }

    public async Task<RolloutResult> SaveAsync(SaveRolloutCommand command, CancellationToken ct)
    {
        RolloutView view;
        ChangeGateDecision.Held? held = null;
        // a flag's plans are read-checked and written under the flag's lock: one active plan per flag
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var flag = await FlagStore.FindForWriteAsync(s, command.IdOrName, ct);
            if (flag is null) return new RolloutResult.FlagNotFound();
            var environment = command.Environment ?? flag.TargetEnvironment;
            if (await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, flag, environment, ct) is not { } served)
                return new RolloutResult.EnvironmentNotSupported(environment);
            flag = served;
            var current = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct);
            if (current is { IsActive: true })
                return new RolloutResult.Conflict($"Flag '{flag.Name}' already has a {RolloutStates.Name(current.State)} rollout; abort it or let it finish first.");
            var patch = new RolloutPlanPatch(environment, command.Stages, command.Guardrails, command.EvidenceWaitFactor, current?.Id, command.ChangedBy);
            string? note = null;
            if (gate is not null)
            {
                var pending = current is { State: RolloutState.Pending } ? current : null;
                List<FieldChange> diff = [new("rollout.stages", pending is null ? null : Element(pending.Stages), Element(command.Stages))];
                if (pending is null ? command.Guardrails is not null
                    : pending.Guardrails is null != command.Guardrails is null || !(pending.Guardrails ?? []).SequenceEqual(command.Guardrails ?? []))
                    diff.Add(new("rollout.guardrails", pending?.Guardrails is { } g ? Element(g) : null, command.Guardrails is { } n ? Element(n) : null));
                if (pending?.EvidenceWaitFactor != command.EvidenceWaitFactor)
                    diff.Add(new("rollout.evidenceWaitFactor", pending?.EvidenceWaitFactor is { } w ? Element(w) : null,
                        command.EvidenceWaitFactor is { } x ? Element(x) : null));
                switch (await gate.CheckAsync(s, new ChangeGateRequest(environment, flag, RolloutChangeTargets.Plan, Element(patch), current?.Version ?? 0,
                    diff, command.Actor, command.ChangedBy) { Bypass = command.Bypass }, ct))
                {
                    case ChangeGateDecision.Held h: held = h; break;
                    case ChangeGateDecision.Refused no: return new RolloutResult.Forbidden(no.Detail);
                    case ChangeGateDecision.Proceed { Reason: { } why }: note = why; break;
                }
            }
            if (held is not null)
            {
                await s.CommitAsync(ct);
                view = null!;
            }
            else
            {
                if (note is not null)
                    logger.LogWarning("{Actor} saved the rollout plan of flag {FlagId} in protected {Environment} directly ({Note})",
                        command.Actor?.Name, flag.Id, environment, note);
                view = await WritePlanAsync(s, flag, current, patch, note, null, ct);
                await s.CommitAsync(ct);
            }
        }
        if (held is not null)
        {
            await held.AfterCommit(ct);
            return new RolloutResult.Held(held.ChangeRequest);
        }
        await PublishAsync(view, ct);
        return new RolloutResult.Done(view);
    }

    /// <summary>Creates or edits the pending plan of <paramref name="flag"/> (the view of the plan's environment) in the caller's transaction.</summary>
    private async Task<RolloutView> WritePlanAsync(WriteScope s, Flag flag, RolloutPlan? current, RolloutPlanPatch p, string? note, string? approvedBy,
        CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var suffix = (note is null ? "" : $" ({note})") + (approvedBy is null ? "" : $" Approved by {approvedBy}.");
        RolloutPlan plan;
        if (current is { State: RolloutState.Pending })
        {
            plan = current with
            {
                Stages = p.Stages, Guardrails = p.Guardrails, EvidenceWaitFactor = p.EvidenceWaitFactor, UpdatedAt = now,
                Version = current.Version + 1, Reason = $"Plan edited by {p.ChangedBy}.{suffix}",
            };
            await RolloutStore.UpdateAsync(s, plan, current.Version, ct);
        }
        else
        {
            plan = new RolloutPlan
            {
                Id = Ids.New("rol", clock),
                FlagId = flag.Id,
                Environment = p.Environment,
                Stages = p.Stages,
                Guardrails = p.Guardrails,
                EvidenceWaitFactor = p.EvidenceWaitFactor,
                State = RolloutState.Pending,
                CreatedBy = p.ChangedBy,
                CreatedAt = now,
                UpdatedAt = now,
                Version = 1,
                Reason = $"Plan created by {p.ChangedBy}.{suffix}",
            };
            await RolloutStore.InsertAsync(s, plan, ct);
        }
        return await ViewAsync(s.Connection, s.Transaction, flag, plan, ct);
    }

    private static JsonElement Element<T>(T value) => JsonSerializer.SerializeToElement(value, Json.Options);

    /// <summary>
    /// Opens the flag (under its lock) as <paramref name="request"/>'s environment serves it, for an approval: null, with a
    /// conflict detail, when the flag or its configuration there is gone.
    /// </summary>
    private static async Task<(Flag? Flag, string? Conflict)> OpenForApprovalAsync(WriteScope s, ChangeRequest request, CancellationToken ct)
    {
        var stored = await FlagStore.FindForWriteAsync(s, request.Flag.Id, ct);
        if (stored is null) return (null, "The flag no longer exists. Nothing was applied.");
        return await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, stored, request.Environment, ct) is { } view
            ? (view, null) : (null, $"'{request.Environment}': {ConfigurationWriter.NoSuchEnvironment}. Nothing was applied.");
    }

    /// <summary>Applies an approved plan if the flag's plan is still the one (and version) it was made against.</summary>
    internal async Task<AppliedChange> ApplyPlanAsync(WriteScope s, ChangeRequest request, string approvedBy, CancellationToken ct)
    {
        var (flag, gone) = await OpenForApprovalAsync(s, request, ct);
        if (flag is null) return new AppliedChange.Conflicted(gone!);
        var p = request.Patch.Deserialize<RolloutPlanPatch>(Json.Options) ?? throw new InvalidOperationException($"Change request {request.Id} has no plan.");
        var current = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, request.Environment, ct);
        if (current?.Id != p.PlanId || (current?.Version ?? 0) != request.BaseVersion)
            return new AppliedChange.Conflicted(PlanMoved(current, request.BaseVersion));
        var view = await WritePlanAsync(s, flag, current, p, null, approvedBy, ct);
        return new AppliedChange.Done(null, token => PublishAsync(view, token).AsTask());
    }

    private static string PlanMoved(RolloutPlan? current, long baseVersion) => current is null
        ? "The flag's rollout plan is gone since the request was made. Nothing was applied; make the request again."
        : $"The rollout plan moved since the request was made: it is {RolloutStates.Name(current.State)} at version {current.Version} ({current.Id}); the request was made against version {baseVersion}. Nothing was applied; make the request again.";

    public async Task<RolloutResult> ActAsync(RolloutActionCommand command, CancellationToken ct)
    {
        RolloutResult result;
        Applied? applied;
        ChangeGateDecision.Held? held = null;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var flag = await FlagStore.FindForWriteAsync(s, command.IdOrName, ct);
            if (flag is null) return new RolloutResult.FlagNotFound();
            var environment = command.Environment ?? flag.TargetEnvironment;
            if (await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, flag, environment, ct) is not { } served)
                return new RolloutResult.EnvironmentNotSupported(environment);
            flag = served;
            string? note = null;
            // a pause keeps traffic where it is, so it is never held; every other action moves traffic (abort is a safety action)
            if (gate is not null && command.Action != ManualAction.Pause
                && await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct) is { } plan
                && PlanTransition(plan, flag, command.Action, command.ChangedBy, clock.GetUtcNow()) is { } t)
            {
                var patch = new RolloutActionPatch(Wire(command.Action), plan.Id, environment, command.ChangedBy);
                switch (await gate.CheckAsync(s, new ChangeGateRequest(environment, flag, RolloutChangeTargets.Action, Element(patch), plan.Version,
                    Diff(flag, plan, t), command.Actor, command.ChangedBy)
                    { Bypass = command.Bypass, SafetyAction = command.Action == ManualAction.Abort ? EnvironmentRules.RolloutAbort : null }, ct))
                {
                    case ChangeGateDecision.Held h: held = h; break;
                    case ChangeGateDecision.Refused no: return new RolloutResult.Forbidden(no.Detail);
                    case ChangeGateDecision.Proceed { Reason: { } why }: note = why; break;
                }
            }
            if (held is not null)
            {
                await s.CommitAsync(ct);
                result = new RolloutResult.Held(held.ChangeRequest);
                applied = null;
            }
            else
            {
                (result, applied) = await ActInAsync(s, flag, environment, command.Action, command.ChangedBy, ct, command.Actor, note);
                if (applied is null) return result;
                await s.CommitAsync(ct);
            }
        }
        if (held is not null)
        {
            await held.AfterCommit(ct);
            return result;
        }
        return new RolloutResult.Done(await AfterCommitAsync(applied!, ct));
    }

    private static string Wire(ManualAction a) => a.ToString().ToLowerInvariant();

    /// <summary>What a plan step moves, as a change request shows it: the plan's state and stage, and the traffic.</summary>
    private static List<FieldChange> Diff(Flag flag, RolloutPlan plan, Transition t)
    {
        List<FieldChange> diff = [];
        if (t.Plan.State != plan.State) diff.Add(new("rollout.state", Element(RolloutStates.Name(plan.State)), Element(RolloutStates.Name(t.Plan.State))));
        if (t.Plan.CurrentStage != plan.CurrentStage)
            diff.Add(new("rollout.stage", Element(StageMachine.StageLabel(plan, plan.CurrentStage)), Element(StageMachine.StageLabel(t.Plan, t.Plan.CurrentStage))));
        var after = t.FlagAfter ?? flag;
        if (after.Enabled != flag.Enabled) diff.Add(new("enabled", Element(flag.Enabled), Element(after.Enabled)));
        if (!after.RolloutPercentage.Equals(flag.RolloutPercentage))
            diff.Add(new("rolloutPercentage", Element(flag.RolloutPercentage), Element(after.RolloutPercentage)));
        return diff;
    }

    /// <summary>Applies an approved action if the plan is still at the version it was made against.</summary>
    internal async Task<AppliedChange> ApplyActionAsync(WriteScope s, ChangeRequest request, Actor author, string approvedBy, CancellationToken ct)
    {
        var (flag, gone) = await OpenForApprovalAsync(s, request, ct);
        if (flag is null) return new AppliedChange.Conflicted(gone!);
        var p = request.Patch.Deserialize<RolloutActionPatch>(Json.Options) ?? throw new InvalidOperationException($"Change request {request.Id} has no action.");
        var current = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, request.Environment, ct);
        if (current is null || current.Id != p.PlanId || current.Version != request.BaseVersion)
            return new AppliedChange.Conflicted(PlanMoved(current, request.BaseVersion));
        var action = Enum.Parse<ManualAction>(p.Action, ignoreCase: true);
        var (result, applied) = await ActInAsync(s, flag, request.Environment, action, p.ChangedBy, ct, author, approvedBy: approvedBy);
        if (applied is null) return new AppliedChange.Conflicted(result is RolloutResult.Conflict c ? c.Detail : "The action no longer applies. Nothing was applied.");
        return new AppliedChange.Done(applied.Mutation?.Change.Id, token => AfterCommitAsync(applied, token));
    }

    /// <summary>A person's action inside the caller's transaction (a schedule's start); the caller commits, then calls <see cref="AfterCommitAsync"/>.</summary>
    internal async Task<(RolloutResult Result, Applied? Applied)> ActInAsync(WriteScope s, Flag flag, string environment, ManualAction action, string by,
        CancellationToken ct, Actor? actor = null, string? note = null, string? approvedBy = null)
    {
        var plan = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct);
        if (plan is null) return (new RolloutResult.NoPlan(), null);
        var t = PlanTransition(plan, flag, action, by, clock.GetUtcNow());
        if (t is null)
            return (new RolloutResult.Conflict($"Cannot {action.ToString().ToLowerInvariant()} a {RolloutStates.Name(plan.State)} rollout."), null);
        if (note is not null) t = t with { Reason = $"{t.Reason} ({note})" };
        var applied = await ApplyAsync(s, flag, plan, t with { Actor = actor, ApprovedBy = approvedBy }, ct);
        return (new RolloutResult.Done(applied.View), applied);
    }

    /// <summary>A person's action on <paramref name="plan"/>; null when the plan's state does not allow it.</summary>
    private static Transition? PlanTransition(RolloutPlan plan, Flag flag, ManualAction action, string by, DateTimeOffset now) => (action, plan.State) switch
    {
        (ManualAction.Start, RolloutState.Pending) => Expose(plan with { State = RolloutState.Running, CurrentStage = 0, StartedAt = now, StageStartedAt = now },
            flag, 0, by, $"Rollout started by {by} at {StageMachine.StageLabel(plan, 0)}."),
        (ManualAction.Pause, RolloutState.Running) => new Transition(plan with { State = RolloutState.Paused }, null, by,
            $"Rollout paused by {by} at {StageMachine.StageLabel(plan, plan.CurrentStage)}.", ChangeType.Updated),
        (ManualAction.Resume, RolloutState.Paused) => Expose(plan with { State = RolloutState.Running, StageStartedAt = now },
            flag, plan.CurrentStage, by, $"Rollout resumed by {by} at {StageMachine.StageLabel(plan, plan.CurrentStage)}; the stage's minimums start again."),
        (ManualAction.Abort, RolloutState.Running or RolloutState.Paused) => new Transition(plan with { State = RolloutState.Aborted },
            flag with { Enabled = false, RolloutPercentage = 0 }, by, $"Rollout aborted by {by} at {StageMachine.StageLabel(plan, plan.CurrentStage)}; the flag is back to 0 %.", null),
        (ManualAction.Promote, RolloutState.Running or RolloutState.Paused) => Promote(plan, flag, now, by),
        _ => null,
    };

    /// <summary>
    /// One guardian pass over a running plan: decide from the evidence and, unless the decision is to hold, apply it in
    /// a write transaction that first checks the plan has not moved meanwhile (another replica, a person).
    /// Returns the applied decision, or null.
    /// </summary>
    public async Task<RolloutDecision?> GuardAsync(RolloutPlan seen, CancellationToken ct)
    {
        Applied applied;
        RolloutDecision decision;
        ChangeGateDecision.Held? heldRollback = null;
        // guardians of several replicas race for the same plan: the flag's lock lets one decide at a time, and each
        // re-reads the plan inside it
        await using (var s = await db.BeginWriteAsync(WriteLock.Flag(seen.FlagId), ct))
        {
            var plan = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, seen.FlagId, seen.Environment, ct);
            if (plan is null || plan.Id != seen.Id || plan.State != RolloutState.Running) return null;
            var stored = await FlagStore.FindAsync(s.Connection, s.Transaction, plan.FlagId, ct);
            var flag = stored is null ? null : await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, stored, plan.Environment, ct);
            var now = clock.GetUtcNow();
            Transition? t;
            if (flag is null)
            {
                await RolloutStore.UpdateAsync(s, plan with { State = RolloutState.Aborted, Reason = "The flag was deleted.", UpdatedAt = now, Version = plan.Version + 1 }, plan.Version, ct);
                await s.CommitAsync(ct);
                return new RolloutDecision(RolloutAction.Pause, "The flag was deleted.", [], null);
            }
            if (!flag.Enabled || flag.RolloutPercentage != plan.Stage.Percentage)
            {
                var reason = System.FormattableString.Invariant(
                    $"Paused at {StageMachine.StageLabel(plan, plan.CurrentStage)}: the flag was changed outside the plan (now {(flag.Enabled ? "enabled" : "disabled")} at {flag.RolloutPercentage:0.##} %); resume to return it to the stage, or abort.");
                decision = new RolloutDecision(RolloutAction.Pause, reason, [], null);
                t = new Transition(plan with { State = RolloutState.Paused }, null, Guardian, reason, ChangeType.Updated);
            }
            else
            {
                decision = StageMachine.Decide(plan, now, await EvidenceAsync(s.Connection, s.Transaction, plan, ct));
                var next = StageMachine.Next(plan, decision, now);
                if (decision.Action == RolloutAction.RollBack
                    && await HoldRollbackAsync(s, flag, plan, plan.Version + 1, decision.Reason, ct) is { } h)
                {
                    // the environment does not exempt the guardian's rollback: the plan pauses at its stage (traffic stays)
                    // and the rollback waits for a person's approval
                    heldRollback = h;
                    decision = new RolloutDecision(RolloutAction.Pause, HeldReason(plan, decision.Reason, h.ChangeRequest), decision.Verdicts, decision.Progress);
                    next = plan with { State = RolloutState.Paused };
                }
                t = decision.Action switch
                {
                    RolloutAction.Advance or RolloutAction.Complete => Expose(next, flag, next.CurrentStage, Guardian, decision.Reason),
                    RolloutAction.RollBack => new Transition(next, flag with { Enabled = false, RolloutPercentage = 0 }, Guardian, decision.Reason, ChangeType.RolledBack),
                    RolloutAction.Pause => new Transition(next, null, Guardian, decision.Reason, ChangeType.Updated),
                    _ => null,
                };
            }
            if (t is null) return null;
            applied = await ApplyAsync(s, flag, plan, t, ct);
            await s.CommitAsync(ct);
        }
        if (decision.Action == RolloutAction.RollBack)
            logger.LogWarning("Guardian rolled back the rollout of flag {FlagId}: {Reason}", seen.FlagId, decision.Reason);
        if (heldRollback is not null)
            logger.LogWarning("Guardian paused the rollout of flag {FlagId}; its rollback waits for approval ({ChangeRequestId})", seen.FlagId, heldRollback.ChangeRequest.Id);
        await AfterCommitAsync(applied, ct);
        if (heldRollback is not null) await heldRollback.AfterCommit(ct);
        return decision;
    }

    /// <summary>
    /// The guardian's rollback on a confirmed regression that detection reported (<see cref="RegressionGuard"/>), inside the
    /// detection's transaction: the flag is disabled and set to 0 %, and a running or paused plan of it ends rolled back with
    /// the same reason, in the same change — so one regression rolls the flag back once, and no tick of the stage machine
    /// can roll it back again. The caller commits, then calls <see cref="AfterCommitAsync"/> when a plan ended.
    /// </summary>
    /// <param name="environment">The environment whose samples regressed: its configuration and its plan are rolled back.</param>
    internal async Task<RegressionRollback?> RollBackOnRegressionAsync(WriteScope s, Flag flag, string environment, string reason,
        CancellationToken ct)
    {
        var off = flag with { Enabled = false, RolloutPercentage = 0 };
        var plan = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct);
        var active = plan is { IsActive: true } ? plan : null;
        // not exempt in a protected environment: a running plan pauses (traffic stays at its stage), and the rollback is a
        // change request made against the plan as paused (or, without a plan, the configuration as it is)
        var baseVersion = active is null ? await ServedVersionAsync(s, flag, environment, ct) : active.Version + (active.State == RolloutState.Running ? 1 : 0);
        if (await HoldRollbackAsync(s, flag, active, baseVersion, reason, ct) is { } held)
        {
            Applied? paused = null;
            if (active is { State: RolloutState.Running })
                paused = await ApplyAsync(s, flag, active, new Transition(active with { State = RolloutState.Paused }, null, Guardian,
                    HeldReason(active, reason, held.ChangeRequest), ChangeType.Updated), ct, cached: false);
            logger.LogWarning("Guardian's rollback of flag {FlagId} in {Environment} waits for approval ({ChangeRequestId})", flag.Id, environment, held.ChangeRequest.Id);
            return new RegressionRollback(null, paused, held.AfterCommit);
        }
        if (active is not null)
        {
            var applied = await ApplyAsync(s, flag, active, new Transition(active with { State = RolloutState.RolledBack }, off, Guardian, reason, ChangeType.RolledBack), ct,
                cached: false);
            return applied.Mutation is { } pm ? new RegressionRollback(pm, applied, null) : null;
        }
        var m = await ConfigurationWriter.WriteAsync(flags, s, environment, new FlagMutationRequest(flag, off, Guardian)
            { ChangeType = ChangeType.RolledBack, Reason = reason, Actor = Actor.System(Guardian) }, ct);
        return m is null ? null : new RegressionRollback(m, null, null);
    }

    /// <summary>The version an approval's If-Match names for a configuration: the flag's for its home, else that configuration's.</summary>
    private static async Task<long> ServedVersionAsync(WriteScope s, Flag view, string environment, CancellationToken ct)
    {
        var stored = await FlagStore.FindAsync(s.Connection, s.Transaction, view.Id, ct) ?? view;
        return environment == stored.TargetEnvironment ? stored.Version
            : (await FlagService.LoadConfigurationAsync(s.Connection, s.Transaction, stored, environment, ct)).Version;
    }

    /// <summary>
    /// Asks the gate about the guardian's rollback of <paramref name="flag"/> (and <paramref name="plan"/>): null when it
    /// applies directly (not protected, or <c>guardian_rollback</c> exempt), else the held request (at most one pending per
    /// flag and environment).
    /// </summary>
    private async Task<ChangeGateDecision.Held?> HoldRollbackAsync(WriteScope s, Flag flag, RolloutPlan? plan, long baseVersion, string reason,
        CancellationToken ct)
    {
        if (gate is null) return null;
        List<FieldChange> diff = [];
        if (plan is not null) diff.Add(new("rollout.state", Element(RolloutStates.Name(plan.State)), Element(RolloutStates.Name(RolloutState.RolledBack))));
        if (flag.Enabled) diff.Add(new("enabled", Element(true), Element(false)));
        if (flag.RolloutPercentage != 0) diff.Add(new("rolloutPercentage", Element(flag.RolloutPercentage), Element(0.0)));
        var patch = new RollbackPatch(plan?.Id, reason, flag.TargetEnvironment);
        return await gate.CheckAsync(s, new ChangeGateRequest(flag.TargetEnvironment, flag, RolloutChangeTargets.Rollback, Element(patch), baseVersion, diff,
            Actor.System(Guardian), Guardian) { SafetyAction = EnvironmentRules.GuardianRollback, OnePending = true }, ct) as ChangeGateDecision.Held;
    }

    private static string HeldReason(RolloutPlan plan, string reason, ChangeRequest request) =>
        $"Paused at {StageMachine.StageLabel(plan, plan.CurrentStage)}: the guardian would roll back ({reason}), and '{plan.Environment}' holds the " +
        $"guardian's rollback for approval (change request {request.Id}); traffic stays at the stage until it is decided.";

    /// <summary>
    /// Applies an approved rollback: with a plan, if the plan is still the one (and version) the guardian paused; without
    /// one, if the configuration is still at the version it was asked against. Logged as the guardian's, with the approver.
    /// </summary>
    internal async Task<AppliedChange> ApplyRollbackAsync(WriteScope s, ChangeRequest request, string approvedBy, CancellationToken ct)
    {
        var (flag, gone) = await OpenForApprovalAsync(s, request, ct);
        if (flag is null) return new AppliedChange.Conflicted(gone!);
        var p = request.Patch.Deserialize<RollbackPatch>(Json.Options) ?? throw new InvalidOperationException($"Change request {request.Id} has no rollback.");
        var off = flag with { Enabled = false, RolloutPercentage = 0 };
        var reason = $"{p.Reason} Approved by {approvedBy}.";
        if (p.PlanId is { } planId)
        {
            var current = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, request.Environment, ct);
            if (current is null || current.Id != planId || current.Version != request.BaseVersion)
                return new AppliedChange.Conflicted(PlanMoved(current, request.BaseVersion));
            var applied = await ApplyAsync(s, flag, current, new Transition(current with { State = RolloutState.RolledBack }, off, Guardian, reason, ChangeType.RolledBack)
                { ApprovedBy = approvedBy }, ct);
            return new AppliedChange.Done(applied.Mutation?.Change.Id, token => AfterCommitAsync(applied, token));
        }
        var version = await ServedVersionAsync(s, flag, request.Environment, ct);
        if (version != request.BaseVersion)
            return new AppliedChange.Conflicted($"The flag's configuration in '{request.Environment}' is at version {version}; the rollback was asked against version {request.BaseVersion}. Nothing was applied.");
        var m = await ConfigurationWriter.WriteAsync(flags, s, request.Environment, new FlagMutationRequest(flag, off, Guardian)
            { ChangeType = ChangeType.RolledBack, Reason = reason, Actor = Actor.System(Guardian), ApprovedBy = approvedBy }, ct);
        return new AppliedChange.Done(m?.Change.Id, token => m is null ? Task.CompletedTask : flags.AfterCommitAsync(m, token));
    }

    /// <param name="cached">False inside a transaction that inserts samples (detection's rollback): what it reads may
    /// still be rolled back, so it must not reach the <see cref="RolloutEvidenceCache"/>.</param>
    private async Task<RolloutEvidence> EvidenceAsync(DbConnection conn, DbTransaction? tx, RolloutPlan plan, CancellationToken ct, bool cached = true) =>
        plan.StartedAt is not { } started ? new RolloutEvidence([])
        : new RolloutEvidence(cached
            ? await evidence.SamplesAsync(conn, tx, plan, ct)
            : await MetricStore.ListAsync(conn, tx, plan.FlagId, plan.Environment, started, null, null, null, MaxSamples, ct)) { SampleInterval = _sampleInterval };

    private sealed record Transition(RolloutPlan Plan, Flag? FlagAfter, string ChangedBy, string Reason, ChangeType? ChangeType)
    {
        /// <summary>The key that asked for a person's action; the guardian acts as itself.</summary>
        public Actor? Actor { get; init; }
        /// <summary>The key name that approved the change request this step applies (the change row's <c>approvedBy</c>).</summary>
        public string? ApprovedBy { get; init; }
    }

    internal sealed record Applied(Flag Flag, RolloutPlan Plan, FlagMutation? Mutation, RolloutView View);

    private static Transition Expose(RolloutPlan plan, Flag flag, int stage, string by, string reason) =>
        new(plan, flag with { Enabled = true, RolloutPercentage = plan.Stages[stage].Percentage }, by, reason, null);

    private static Transition Promote(RolloutPlan plan, Flag flag, DateTimeOffset now, string by)
    {
        var next = plan.CurrentStage + 1;
        if (next >= plan.Stages.Count)
            return Expose(plan with { State = RolloutState.Completed, StageStartedAt = now }, flag, plan.CurrentStage, by,
                $"Promoted by {by}: completed at {StageMachine.StageLabel(plan, plan.CurrentStage)} without waiting for the guardian.");
        var completes = next == plan.Stages.Count - 1 && plan.Stages[next].Percentage >= 100;
        return Expose(plan with { State = completes ? RolloutState.Completed : RolloutState.Running, CurrentStage = next, StageStartedAt = now },
            flag, next, by, $"Promoted by {by} to {StageMachine.StageLabel(plan, next)} without waiting for the guardian.");
    }

    private async Task<Applied> ApplyAsync(WriteScope s, Flag flag, RolloutPlan before, Transition t, CancellationToken ct, bool cached = true)
    {
        var now = clock.GetUtcNow();
        var plan = t.Plan with { Reason = t.Reason, UpdatedAt = now, Version = before.Version + 1 };
        if (!await RolloutStore.UpdateAsync(s, plan, before.Version, ct))
            throw new InvalidOperationException($"Rollout {before.Id} changed inside a write transaction.");
        // a plan step that leaves the flag as it is (pause, resume at the same percentage) is recorded on the plan and
        // published live; the change log only records what changed the flag
        var m = await ConfigurationWriter.WriteAsync(flags, s, plan.Environment, new FlagMutationRequest(flag, t.FlagAfter ?? flag, t.ChangedBy)
        {
            ChangeType = t.ChangeType,
            Reason = t.Reason,
            Actor = t.Actor ?? (t.ChangedBy == Guardian ? Actor.System(Guardian) : null),
            ApprovedBy = t.ApprovedBy,
        }, ct);
        var after = m is null ? flag : ConfigurationWriter.ViewAfter(m, plan.Environment);
        var view = await ViewAsync(s.Connection, s.Transaction, after, plan, ct, cached);
        await RolloutNotices.EnlistAsync(outbox, s, after, view, t.Actor?.Name ?? t.ChangedBy, ct);
        return new Applied(after, plan, m, view);
    }

    /// <summary>After commit of a flag change made outside a plan.</summary>
    internal Task AfterCommitAsync(FlagMutation m, CancellationToken ct) => flags.AfterCommitAsync(m, ct);

    internal async Task<RolloutView> AfterCommitAsync(Applied a, CancellationToken ct)
    {
        if (a.Mutation is { } m) await flags.AfterCommitAsync(m, ct);
        await PublishAsync(a.View, ct);
        return a.View;
    }

    private ValueTask PublishAsync(RolloutView view, CancellationToken ct) =>
        live.PublishAsync(new LiveEvent(LiveEventTypes.RolloutUpdated, view, view.FlagId) { Environment = view.Environment }, ct);

    private async Task<RolloutView> ViewAsync(DbConnection conn, DbTransaction? tx, Flag flag, RolloutPlan plan, CancellationToken ct, bool cached = true)
    {
        // a finished plan keeps showing the verdicts of its evidence (why it rolled back, what it completed on)
        var evaluation = StageMachine.Decide(plan, clock.GetUtcNow(), await EvidenceAsync(conn, tx, plan, ct, cached));
        return new RolloutView(plan, flag.Name, evaluation);
    }
}
