using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Rollouts;

public static class RolloutsApi
{
    public static IEndpointRouteBuilder MapRolloutsApi(this IEndpointRouteBuilder app)
    {
        var flags = app.MapGroup("/api/flags/{idOrName}").WithTags("Rollouts");
        // access: viewer
        flags.MapGet("/rollout", GetRollout).WithName("GetRollout").WithSummary("A flag's rollout plan in ?environment= (default its home), its state and the guardian's current evaluation");
        // access: editor
        flags.MapPut("/rollout", SaveRollout).WithName("SaveRollout").WithSummary("Create or replace a flag's pending plan (held as a change request in a protected environment: 202) (omitted stages: 1 → 5 → 25 → 50 → 100 %; omitted guardrails: error_rate and latency_p99, conversion_rate when samples carry it)");
        // access: editor
        flags.MapPost("/rollout/{action}", ActOnRollout).WithName("ActOnRollout").WithSummary("start, pause, resume, abort (back to 0 %) or promote (next stage now) the plan (in a protected environment all but pause are held: 202; abort applies when the environment exempts rollout_abort)");
        // access: viewer
        flags.MapGet("/schedules", ScheduleApi.ListSchedules).WithName("ListSchedules").WithSummary("A flag's scheduled changes, pending and fired");
        // access: editor
        flags.MapPost("/schedules", ScheduleApi.CreateSchedule).WithName("CreateSchedule").WithSummary("Schedule enable, disable, set_rollout or start_rollout at a time");
        // access: editor
        flags.MapDelete("/schedules/{scheduleId}", ScheduleApi.DeleteSchedule).WithName("DeleteSchedule").WithSummary("Cancel a schedule that has not fired");
        // access: viewer
        app.MapGet("/api/rollouts", ListActive).WithTags("Rollouts").WithName("ListActiveRollouts").WithSummary("Rollouts in progress (running or paused)");
        return app;
    }

    /// <summary>The plan of <c>?environment=</c> (default the flag's home; FlagScopeMiddleware checked name and scope).</summary>
    public static async Task<Results<Ok<RolloutView>, ValidationProblem, ProblemHttpResult>> GetRollout(RolloutService rollouts, string idOrName,
        HttpContext http, CancellationToken ct) =>
        ToHttp(await rollouts.GetAsync(idOrName, ct, http.RequestedEnvironment()), idOrName).Result switch
        {
            Ok<RolloutView> ok => ok,
            ProblemHttpResult problem => problem,
            ValidationProblem invalid => invalid,
            var other => throw new InvalidOperationException($"Unexpected result {other}"),
        };

    public static async Task<Results<Ok<RolloutView>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> SaveRollout(RolloutService rollouts, string idOrName,
        SaveRolloutRequest? body, bool? bypass, HttpContext http, CancellationToken ct)
    {
        body ??= new SaveRolloutRequest(null, null);
        var v = RolloutRules.Validate(body, out var stages);
        EnvironmentNames.Check(body.Environment, v, "environment");
        var query = http.RequestedEnvironment();
        if (body.Environment is not null && query is not null && body.Environment != query) v.Add("environment", "differs from ?environment=");
        if (!v.IsValid) return v.ToProblem();
        var environment = body.Environment ?? query;
        // the middleware checked ?environment= against the caller's scope; a body's environment is checked here, alike
        if (body.Environment is not null && !http.GetActor().Sees(body.Environment)) return Problems.NotFound("Flag", idOrName);
        return ToHttp(await rollouts.SaveAsync(new SaveRolloutCommand(idOrName, stages, body.ChangedBy ?? "api")
        {
            Environment = environment,
            Guardrails = body.Guardrails?.ConvertAll(g => g!),
            EvidenceWaitFactor = body.EvidenceWaitFactor,
            Actor = http.GetActor(),
            Bypass = bypass == true,
        }, ct), idOrName);
    }

    public static async Task<Results<Ok<RolloutView>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> ActOnRollout(RolloutService rollouts, string idOrName,
        string action, string? changedBy, bool? bypass, HttpContext http, CancellationToken ct)
    {
        ManualAction? a = action switch
        {
            "start" => ManualAction.Start,
            "pause" => ManualAction.Pause,
            "resume" => ManualAction.Resume,
            "abort" => ManualAction.Abort,
            "promote" => ManualAction.Promote,
            _ => null,
        };
        if (a is null) return Problems.Invalid("action", "must be start, pause, resume, abort or promote");
        if (changedBy is { Length: > 200 }) return Problems.Invalid("changedBy", "must be at most 200 characters");
        return ToHttp(await rollouts.ActAsync(new RolloutActionCommand(idOrName, a.Value, changedBy ?? "api", http.GetActor())
            { Environment = http.RequestedEnvironment(), Bypass = bypass == true }, ct), idOrName);
    }

    public static async Task<Ok<Page<RolloutView>>> ListActive(RolloutService rollouts, int? limit, HttpContext http, CancellationToken ct) =>
        TypedResults.Ok(new Page<RolloutView>(await rollouts.ActiveAsync(Math.Clamp(limit ?? 100, 1, 500), ct, http.GetActor()), null));

    private static Results<Ok<RolloutView>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult> ToHttp(RolloutResult r, string idOrName) => r switch
    {
        RolloutResult.Done d => TypedResults.Ok(d.View),
        RolloutResult.FlagNotFound => Problems.NotFound("Flag", idOrName),
        RolloutResult.NoPlan => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Rollout not found",
            detail: $"Flag '{idOrName}' has no rollout plan; PUT one first."),
        RolloutResult.Conflict c => Problems.Conflict(c.Detail),
        RolloutResult.EnvironmentNotSupported e => Problems.Invalid("environment", $"'{e.Environment}': {ConfigurationWriter.NoSuchEnvironment}"),
        RolloutResult.Held held => TypedResults.Accepted($"/api/change-requests/{held.ChangeRequest.Id}", new HeldChangeResponse(held.ChangeRequest)),
        RolloutResult.Forbidden no => Problems.Forbidden(no.Detail),
        _ => throw new InvalidOperationException($"Unexpected rollout result {r.GetType().Name}."),
    };
}
