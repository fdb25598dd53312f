using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary><c>POST /api/flags/{idOrName}/schedules</c>: <c>{"action":"set_rollout","at":"…Z","rolloutPercentage":25}</c>.</summary>
public sealed record CreateScheduleRequest(string? Action, DateTimeOffset? At, double? RolloutPercentage, string? ChangedBy);

public static class ScheduleApi
{
    public static async Task<Results<Created<FlagSchedule>, ValidationProblem, ProblemHttpResult>> CreateSchedule(ScheduleService schedules,
        TimeProvider clock, string idOrName, CreateScheduleRequest body, CancellationToken ct)
    {
        var v = new Validator();
        var action = ScheduleActions.Parse(body.Action);
        if (action is null) v.Add("action", "must be enable, disable, set_rollout or start_rollout");
        if (body.At is null) v.Add("at", "is required (ISO-8601)");
        else if (body.At < clock.GetUtcNow().AddMinutes(-1)) v.Add("at", "must not be in the past");
        if (action == ScheduleAction.SetRollout && body.RolloutPercentage is null) v.Add("rolloutPercentage", "is required for set_rollout");
        v.Range(body.RolloutPercentage, 0, 100, "rolloutPercentage");
        if (action is not ScheduleAction.SetRollout && body.RolloutPercentage is not null) v.Add("rolloutPercentage", "is only for set_rollout");
        Flags.FlagRules.CheckChangedBy(body.ChangedBy, v);
        if (!v.IsValid) return v.ToProblem();
        var x = await schedules.CreateAsync(new CreateScheduleCommand(idOrName, action!.Value, body.RolloutPercentage, body.At!.Value, body.ChangedBy ?? "api"), ct);
        return x is null ? Problems.NotFound("Flag", idOrName) : TypedResults.Created($"/api/flags/{x.FlagId}/schedules/{x.Id}", x);
    }

    public static async Task<Results<Ok<Page<FlagSchedule>>, ProblemHttpResult>> ListSchedules(ScheduleService schedules, string idOrName, CancellationToken ct) =>
        await schedules.ListAsync(idOrName, ct) is { } list ? TypedResults.Ok(new Page<FlagSchedule>(list, null)) : Problems.NotFound("Flag", idOrName);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(ScheduleService schedules, string idOrName, string scheduleId,
        CancellationToken ct) => await schedules.DeleteAsync(idOrName, scheduleId, ct) switch
    {
        null => Problems.NotFound("Flag", idOrName),
        false => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Schedule not found",
            detail: $"No pending schedule '{scheduleId}' on flag '{idOrName}' (a fired schedule stays as a record)."),
        true => TypedResults.NoContent(),
    };
}
