using System.Text.Json;
using FlagAnalyzer.Api.ChangeRequests;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Environments;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

public sealed record CreateScheduleCommand(string IdOrName, ScheduleAction Action, double? RolloutPercentage, DateTimeOffset At, string ChangedBy)
{
    /// <summary>The environment whose configuration it changes; null: the flag's home.</summary>
    public string? Environment { get; init; }
    /// <summary>The key that asks (issue 27: in a protected environment an editor's schedule is held for approval).</summary>
    public Actor? Actor { get; init; }
    /// <summary><c>?bypass=true</c>: an admin schedules directly in a protected environment (logged).</summary>
    public bool Bypass { get; init; }
}

/// <summary>The outcome of <see cref="ScheduleService.CreateAsync"/>.</summary>
public abstract record CreateScheduleResult
{
    private CreateScheduleResult() { }

    public sealed record Created(FlagSchedule Schedule) : CreateScheduleResult;
    public sealed record FlagNotFound : CreateScheduleResult;
    /// <summary>Rollouts cannot write that environment's configuration yet (<see cref="ConfigurationWriter"/>).</summary>
    public sealed record EnvironmentNotSupported(string Environment) : CreateScheduleResult;
    /// <summary>Not stored: the environment is protected and a pending change request holds the schedule (issue 27).</summary>
    public sealed record Held(ChangeRequest ChangeRequest) : CreateScheduleResult;
    /// <summary>Refused by the gate (e.g. <c>?bypass=true</c> from a key that is not an admin's); nothing stored.</summary>
    public sealed record Forbidden(string Detail) : CreateScheduleResult;
}

/// <summary>
/// Scheduled flag changes: created by people, fired by the <see cref="RolloutGuardian"/>'s tick. In a protected environment
/// (issue 27) a schedule is itself the change a second person approves: an editor's is held as a change request and stored
/// only on approval; it then fires as the scheduler, without asking again.
/// </summary>
public sealed class ScheduleService(Db db, FlagService flags, RolloutService rollouts, ILiveEventPublisher live, TimeProvider clock,
    ILogger<ScheduleService> logger, IChangeGate? gate = null)
{
    /// <summary>How late an approval may store a schedule past its time (the create route's own tolerance).</summary>
    private static readonly TimeSpan Late = TimeSpan.FromMinutes(1);

    public async Task<CreateScheduleResult> CreateAsync(CreateScheduleCommand c, CancellationToken ct)
    {
        ChangeGateDecision.Held? held;
        FlagSchedule x;
        // under the flag's lock, so a delete of the flag cannot slip between the check and the insert
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var flag = await FlagStore.FindForWriteAsync(s, c.IdOrName, ct);
            if (flag is null) return new CreateScheduleResult.FlagNotFound();
            var environment = c.Environment ?? flag.TargetEnvironment;
            if (await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, flag, environment, ct) is not { } served)
                return new CreateScheduleResult.EnvironmentNotSupported(environment);
            var patch = new SchedulePatch(c.Action, c.At, c.RolloutPercentage, environment, c.ChangedBy);
            held = null;
            string? approval = null;
            if (gate is not null)
            {
                var element = JsonSerializer.SerializeToElement(patch, Json.Options);
                // nothing about the flag moves until it fires: the request is made against the flag's version for the record only
                switch (await gate.CheckAsync(s, new ChangeGateRequest(environment, served, RolloutChangeTargets.Schedule, element, flag.Version,
                    [new FieldChange("schedule", null, JsonSerializer.SerializeToElement(new { action = c.Action, at = c.At, rolloutPercentage = c.RolloutPercentage }, Json.Options))],
                    c.Actor, c.ChangedBy) { Bypass = c.Bypass }, ct))
                {
                    case ChangeGateDecision.Held h: held = h; break;
                    case ChangeGateDecision.Refused no: return new CreateScheduleResult.Forbidden(no.Detail);
                    case ChangeGateDecision.Proceed { Reason: { } why }:
                        logger.LogWarning("{Actor} scheduled {Action} of flag {FlagId} in protected {Environment} directly ({Why})",
                            c.Actor?.Name, ScheduleActions.Name(c.Action), flag.Id, environment, why);
                        approval = $"{why} by {c.Actor?.Name ?? c.ChangedBy}";
                        break;
                }
            }
            x = held is null ? await InsertAsync(s, flag.Id, patch, approval, ct) : null!;
            await s.CommitAsync(ct);
        }
        if (held is null) return new CreateScheduleResult.Created(x);
        await held.AfterCommit(ct);
        return new CreateScheduleResult.Held(held.ChangeRequest);
    }

    private async Task<FlagSchedule> InsertAsync(WriteScope s, string flagId, SchedulePatch p, string? approval, CancellationToken ct)
    {
        var x = new FlagSchedule
        {
            Id = Ids.New("sch", clock),
            FlagId = flagId,
            Environment = p.Environment,
            Action = p.Action,
            RolloutPercentage = p.RolloutPercentage,
            At = p.At,
            CreatedBy = p.ChangedBy,
            CreatedAt = clock.GetUtcNow(),
            Approval = approval,
        };
        await ScheduleStore.InsertAsync(s, x, ct);
        return x;
    }

    /// <summary>
    /// Stores an approved schedule in the approval's transaction, unless the flag is gone or the schedule's time passed
    /// while it waited (firing at once what was meant for a moment now gone would surprise both people).
    /// </summary>
    internal async Task<AppliedChange> ApplyAsync(WriteScope s, ChangeRequest request, string approvedBy, CancellationToken ct)
    {
        var p = request.Patch.Deserialize<SchedulePatch>(Json.Options) ?? throw new InvalidOperationException($"Change request {request.Id} has no schedule.");
        var flag = await FlagStore.FindForWriteAsync(s, request.Flag.Id, ct);
        if (flag is null) return new AppliedChange.Conflicted("The flag no longer exists. Nothing was scheduled.");
        if (await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, flag, p.Environment, ct) is null)
            return new AppliedChange.Conflicted($"'{p.Environment}': {ConfigurationWriter.NoSuchEnvironment}. Nothing was scheduled.");
        if (p.At < clock.GetUtcNow() - Late)
            return new AppliedChange.Conflicted($"The schedule's time ({p.At:yyyy-MM-dd'T'HH:mm:ss'Z'}) passed while it waited for approval. Nothing was scheduled; schedule it again.");
        await InsertAsync(s, flag.Id, p, $"change request {request.Id} approved by {approvedBy}", ct);
        return new AppliedChange.Done(null, _ => Task.CompletedTask);
    }

    /// <summary>The flag's schedules in <paramref name="environment"/> (null: its home); null when the flag does not exist.</summary>
    public async Task<List<FlagSchedule>?> ListAsync(string idOrName, CancellationToken ct, string? environment = null)
    {
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        return flag is null ? null : await ScheduleStore.ForFlagAsync(conn, flag.Id, environment ?? flag.TargetEnvironment, ct);
    }

    /// <summary>Null when the flag does not exist; false when the schedule is unknown or has fired.</summary>
    public async Task<bool?> DeleteAsync(string idOrName, string id, CancellationToken ct)
    {
        await using var s = await db.BeginWriteAsync(WriteLock.None, ct);
        var flag = await FlagStore.FindForWriteAsync(s, idOrName, ct);
        if (flag is null) return null;
        var deleted = await ScheduleStore.DeletePendingAsync(s, flag.Id, id, ct);
        await s.CommitAsync(ct);
        return deleted;
    }

    /// <summary>Fires every due schedule once; returns how many this replica fired.</summary>
    public async Task<int> FireDueAsync(CancellationToken ct)
    {
        List<FlagSchedule> due;
        await using (var conn = await db.OpenAsync(ct)) due = await ScheduleStore.DueAsync(conn, clock.GetUtcNow(), 100, ct);
        var fired = 0;
        foreach (var x in due)
        {
            try
            {
                if (await FireAsync(x, ct)) fired++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Schedule {ScheduleId} of flag {FlagId} failed; it stays unfired and is retried on the next tick", x.Id, x.FlagId);
            }
        }
        return fired;
    }

    /// <summary>
    /// Fires one schedule that was seen due, unless another pass (this replica's or another's) claimed it since; true
    /// when this call fired it.
    /// </summary>
    public async Task<bool> FireAsync(FlagSchedule x, CancellationToken ct)
    {
        FlagMutation? mutation = null;
        RolloutService.Applied? started = null;
        FlagSchedule done;
        // the claim (a conditional update of the schedule's row) makes the firing once-only; the flag's lock orders it
        // with every other write to the flag
        await using (var s = await db.BeginWriteAsync(WriteLock.Flag(x.FlagId), ct))
        {
            var now = clock.GetUtcNow();
            if (!await ScheduleStore.ClaimAsync(s, x.Id, now, ct)) return false; // another replica fired it
            var stored = await FlagStore.FindAsync(s.Connection, s.Transaction, x.FlagId, ct);
            var by = x.CreatedBy;
            var reason = $"Scheduled by {x.CreatedBy} for {x.At:yyyy-MM-dd'T'HH:mm:ss'Z'} ({x.Id}).";
            string outcome;
            var environment = x.Environment.Length > 0 ? x.Environment : stored?.TargetEnvironment ?? "";
            var flag = stored is null ? null : await ConfigurationWriter.ViewAsync(s.Connection, s.Transaction, stored, environment, ct);
            if (stored is null) outcome = "skipped: the flag no longer exists";
            else if (flag is null) outcome = $"skipped: {ConfigurationWriter.NoSuchEnvironment} ('{environment}')";
            else if (x.Approval is null && await EnvironmentStore.GetAsync(s.Connection, s.Transaction, environment, ct) is { Protected: true })
            {
                // stored while the environment was open: firing it now would apply a change nobody approved
                outcome = $"skipped: '{environment}' became protected after this was scheduled and nobody approved it; schedule it again (an editor's schedule there is held for approval)";
                logger.LogWarning("Schedule {ScheduleId} of flag {FlagId} not fired: {Environment} became protected after it was stored", x.Id, x.FlagId, environment);
            }
            else if (x.Action == ScheduleAction.StartRollout)
            {
                var (result, applied) = await rollouts.ActInAsync(s, flag, environment, ManualAction.Start, by, ct);
                started = applied;
                outcome = result switch
                {
                    RolloutResult.Done => "started the rollout",
                    RolloutResult.Conflict c => $"skipped: {c.Detail}",
                    _ => "skipped: the flag has no rollout plan",
                };
            }
            else
            {
                var after = x.Action switch
                {
                    ScheduleAction.Enable => flag with { Enabled = true },
                    ScheduleAction.Disable => flag with { Enabled = false },
                    _ => flag with { RolloutPercentage = x.RolloutPercentage ?? flag.RolloutPercentage },
                };
                mutation = await ConfigurationWriter.WriteAsync(flags, s, environment,
                    new FlagMutationRequest(flag, after, by) { Reason = reason, Actor = Actor.System("scheduler") }, ct);
                outcome = mutation is null ? "no change: the flag already had that state" : $"done: {mutation.Change.ChangeType.ToWire()}";
            }
            await ScheduleStore.SetOutcomeAsync(s, x.Id, outcome, ct);
            done = x with { FiredAt = now, Outcome = outcome };
            await s.CommitAsync(ct);
        }
        if (mutation is not null) await flags.AfterCommitAsync(mutation, ct);
        if (started is not null) await rollouts.AfterCommitAsync(started, ct);
        await live.PublishAsync(new LiveEvent(LiveEventTypes.ScheduleFired, done, done.FlagId) { Environment = done.Environment.Length > 0 ? done.Environment : null }, ct);
        return true;
    }
}
