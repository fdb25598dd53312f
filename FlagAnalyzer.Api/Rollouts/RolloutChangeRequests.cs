using FlagAnalyzer.Api.ChangeRequests;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>A plan as a change request stores it: applied again on approval if the flag's plan is still <see cref="PlanId"/> (null: none pending).</summary>
public sealed record RolloutPlanPatch(string Environment, IReadOnlyList<RolloutStage> Stages, IReadOnlyList<string>? Guardrails, int? EvidenceWaitFactor,
    string? PlanId, string ChangedBy);

/// <summary>A person's action (<c>start</c>, <c>resume</c>, <c>promote</c>, <c>abort</c>) on plan <see cref="PlanId"/>, as a change request stores it.</summary>
public sealed record RolloutActionPatch(string Action, string PlanId, string Environment, string ChangedBy);

/// <summary>The guardian's rollback held for approval: of plan <see cref="PlanId"/>, or (null) of the flag's configuration alone.</summary>
public sealed record RollbackPatch(string? PlanId, string Reason, string Environment);

/// <summary>A schedule as a change request stores it; stored as a schedule on approval, and then fires without another.</summary>
public sealed record SchedulePatch(ScheduleAction Action, DateTimeOffset At, double? RolloutPercentage, string Environment, string ChangedBy);

/// <summary>Applies the approved change requests of Rollouts' targets (<see cref="RolloutChangeTargets"/>) through Rollouts' own write paths.</summary>
public sealed class RolloutChangeRequests(RolloutService rollouts, ScheduleService schedules) : IChangeRequestApplier
{
    public bool Applies(string target) =>
        target is RolloutChangeTargets.Plan or RolloutChangeTargets.Action or RolloutChangeTargets.Rollback or RolloutChangeTargets.Schedule;

    public Task<AppliedChange> ApplyAsync(WriteScope s, string target, ChangeRequest request, Actor author, string approvedBy, CancellationToken ct) => target switch
    {
        RolloutChangeTargets.Plan => rollouts.ApplyPlanAsync(s, request, approvedBy, ct),
        RolloutChangeTargets.Action => rollouts.ApplyActionAsync(s, request, author, approvedBy, ct),
        RolloutChangeTargets.Rollback => rollouts.ApplyRollbackAsync(s, request, approvedBy, ct),
        RolloutChangeTargets.Schedule => schedules.ApplyAsync(s, request, approvedBy, ct),
        _ => throw new InvalidOperationException($"Change request {request.Id}: Rollouts does not apply '{target}'."),
    };
}
