using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using System.Data.Common;

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
}

public sealed record RolloutActionCommand(string IdOrName, ManualAction Action, string ChangedBy, Actor? Actor = null)
{
    /// <summary>The environment of the plan acted on; null: the flag's home.</summary>
    public string? Environment { get; init; }
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
}

/// <summary>
/// Plans and their transitions. Every transition, a person's or the guardian's, updates the plan and writes the flag
/// through <see cref="FlagService.MutateAsync"/> in one transaction — so each is a change-log row with its reason —
/// then publishes <c>rollout.updated</c> after the commit.
/// </summary>
public sealed class RolloutService(Db db, FlagService flags, ILiveEventPublisher live, TimeProvider clock, RolloutEvidenceCache evidence,
    ILogger<RolloutService> logger, IEventOutbox? outbox = null, Microsoft.Extensions.Options.IOptions<Telemetry.TelemetryOptions>? telemetry = null)
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
            var now = clock.GetUtcNow();
            RolloutPlan plan;
            if (current is { State: RolloutState.Pending })
            {
                plan = current with
                {
                    Stages = command.Stages, Guardrails = command.Guardrails, EvidenceWaitFactor = command.EvidenceWaitFactor, UpdatedAt = now,
                    Version = current.Version + 1, Reason = $"Plan edited by {command.ChangedBy}.",
                };
                await RolloutStore.UpdateAsync(s, plan, current.Version, ct);
            }
            else
            {
                plan = new RolloutPlan
                {
                    Id = Ids.New("rol", clock),
                    FlagId = flag.Id,
                    Environment = environment,
                    Stages = command.Stages,
                    Guardrails = command.Guardrails,
                    EvidenceWaitFactor = command.EvidenceWaitFactor,
                    State = RolloutState.Pending,
                    CreatedBy = command.ChangedBy,
                    CreatedAt = now,
                    UpdatedAt = now,
                    Version = 1,
                    Reason = $"Plan created by {command.ChangedBy}.",
                };
                await RolloutStore.InsertAsync(s, plan, ct);
            }
            view = await ViewAsync(s.Connection, s.Transaction, flag, plan, ct);
            await s.CommitAsync(ct);
        }
        await PublishAsync(view, ct);
        return new RolloutResult.Done(view);
    }

    public async Task<RolloutResult> ActAsync(RolloutActionCommand command, CancellationToken ct)
    {
        RolloutResult result;
        Applied? applied;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var flag = await FlagStore.FindForWriteAsync(s, command.IdOrName, ct);
            if (flag is null) return new RolloutResult.FlagNotFound();
            var environment = command.Environment ?? flag.TargetEnvironment;
            if (await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, flag, environment, ct) is not { } served)
                return new RolloutResult.EnvironmentNotSupported(environment);
            flag = served;
            (result, applied) = await ActInAsync(s, flag, environment, command.Action, command.ChangedBy, ct, command.Actor);
            if (applied is null) return result;
            await s.CommitAsync(ct);
        }
        return new RolloutResult.Done(await AfterCommitAsync(applied, ct));
    }

    /// <summary>A person's action inside the caller's transaction (a schedule's start); the caller commits, then calls <see cref="AfterCommitAsync"/>.</summary>
    internal async Task<(RolloutResult Result, Applied? Applied)> ActInAsync(WriteScope s, Flag flag, string environment, ManualAction action, string by,
        CancellationToken ct, Actor? actor = null)
    {
        var plan = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct);
        if (plan is null) return (new RolloutResult.NoPlan(), null);
        var now = clock.GetUtcNow();
        Transition? t = (action, plan.State) switch
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
        if (t is null)
            return (new RolloutResult.Conflict($"Cannot {action.ToString().ToLowerInvariant()} a {RolloutStates.Name(plan.State)} rollout."), null);
        var applied = await ApplyAsync(s, flag, plan, t with { Actor = actor }, ct);
        return (new RolloutResult.Done(applied.View), applied);
    }

    /// <summary>
    /// One guardian pass over a running plan: decide from the evidence and, unless the decision is to hold, apply it in
    /// a write transaction that first checks the plan has not moved meanwhile (another replica, a person).
    /// Returns the applied decision, or null.
    /// </summary>
    public async Task<RolloutDecision?> GuardAsync(RolloutPlan seen, CancellationToken ct)
    {
        Applied applied;
        RolloutDecision decision;
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
        await AfterCommitAsync(applied, ct);
        return decision;
    }

    /// <summary>
    /// The guardian's rollback on a confirmed regression that detection reported (<see cref="RegressionGuard"/>), inside the
    /// detection's transaction: the flag is disabled and set to 0 %, and a running or paused plan of it ends rolled back with
    /// the same reason, in the same change — so one regression rolls the flag back once, and no tick of the stage machine
    /// can roll it back again. The caller commits, then calls <see cref="AfterCommitAsync"/> when a plan ended.
    /// </summary>
    /// <param name="environment">The environment whose samples regressed: its configuration and its plan are rolled back.</param>
    internal async Task<(FlagMutation Mutation, Applied? Plan)?> RollBackOnRegressionAsync(WriteScope s, Flag flag, string environment, string reason,
        CancellationToken ct)
    {
        var off = flag with { Enabled = false, RolloutPercentage = 0 };
        var plan = await RolloutStore.CurrentAsync(s.Connection, s.Transaction, flag.Id, environment, ct);
        if (plan is { IsActive: true })
        {
            var applied = await ApplyAsync(s, flag, plan, new Transition(plan with { State = RolloutState.RolledBack }, off, Guardian, reason, ChangeType.RolledBack), ct,
                cached: false);
            return applied.Mutation is { } pm ? (pm, applied) : null;
        }
        var m = await ConfigurationWriter.WriteAsync(flags, s, environment, new FlagMutationRequest(flag, off, Guardian)
            { ChangeType = ChangeType.RolledBack, Reason = reason, Actor = Actor.System(Guardian) }, ct);
        return m is null ? null : (m, null);
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
