using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary><c>POST /api/flags/{idOrName}/schedules</c>: <c>{"action":"set_rollout","at":"…Z","rolloutPercentage":25}</c>.</summary>
public sealed record CreateScheduleRequest(string? Action, DateTimeOffset? At, double? RolloutPercentage, string? ChangedBy)
{
    /// <summary>The environment whose configuration it changes (issue 26); null: <c>?environment=</c>, else the flag's home.</summary>
    public string? Environment { get; init; }
}

public static class ScheduleApi
{
    public static async Task<Results<Created<FlagSchedule>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> CreateSchedule(ScheduleService schedules,
        TimeProvider clock, string idOrName, CreateScheduleRequest body, bool? bypass, HttpContext http, CancellationToken ct)
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
        EnvironmentNames.Check(body.Environment, v, "environment");
        var query = http.RequestedEnvironment();
        if (body.Environment is not null && query is not null && body.Environment != query) v.Add("environment", "differs from ?environment=");
        if (!v.IsValid) return v.ToProblem();
        // the middleware checked ?environment= against the caller's scope; a body's environment is checked here, alike
        if (body.Environment is not null && !http.GetActor().Sees(body.Environment)) return Problems.NotFound("Flag", idOrName);
        return await schedules.CreateAsync(new CreateScheduleCommand(idOrName, action!.Value, body.RolloutPercentage, body.At!.Value, body.ChangedBy ?? "api")
            { Environment = body.Environment ?? query, Actor = http.GetActor(), Bypass = bypass == true }, ct) switch
        {
            CreateScheduleResult.Created { Schedule: var x } => TypedResults.Created($"/api/flags/{x.FlagId}/schedules/{x.Id}", x),
            CreateScheduleResult.Held held => TypedResults.Accepted($"/api/change-requests/{held.ChangeRequest.Id}", new HeldChangeResponse(held.ChangeRequest)),
            CreateScheduleResult.Forbidden no => Problems.Forbidden(no.Detail),
            CreateScheduleResult.EnvironmentNotSupported e => Problems.Invalid("environment", $"'{e.Environment}': {ConfigurationWriter.NoSuchEnvironment}"),
            _ => Problems.NotFound("Flag", idOrName),
        };
    }

    /// <summary>The schedules of <c>?environment=</c> (default the flag's home).</summary>
    public static async Task<Results<Ok<Page<FlagSchedule>>, ProblemHttpResult>> ListSchedules(ScheduleService schedules, string idOrName, HttpContext http,
        CancellationToken ct) =>
        await schedules.ListAsync(idOrName, ct, http.RequestedEnvironment()) is { } list
            ? TypedResults.Ok(new Page<FlagSchedule>(list, null)) : Problems.NotFound("Flag", idOrName);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(ScheduleService schedules, string idOrName, string scheduleId,
        CancellationToken ct) => await schedules.DeleteAsync(idOrName, scheduleId, ct) switch
    {
        null => Problems.NotFound("Flag", idOrName),
        false => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Schedule not found",
            detail: $"No pending schedule '{scheduleId}' on flag '{idOrName}' (a fired schedule stays as a record)."),
        true => TypedResults.NoContent(),
    };
}
