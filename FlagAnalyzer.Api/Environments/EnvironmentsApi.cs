using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Environments;

public static class EnvironmentsApi
{
    public static IEndpointRouteBuilder MapEnvironmentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/environments").WithTags("Environments");
        api.MapGet("/", ListEnvironments).WithName("ListEnvironments").WithSummary("Environments in promotion order (a scoped key sees its own)");
        api.MapPost("/", CreateEnvironment).WithName("CreateEnvironment").WithSummary("Add an environment at the end of the promotion path");
        // the parameter is named "environment" so the access middleware refuses a scoped key another environment's route (403)
        api.MapGet("/{environment}", GetEnvironment).WithName("GetEnvironment").WithSummary("One environment by name");
        api.MapPatch("/{environment}", PatchEnvironment).WithName("PatchEnvironment").WithSummary("Recolour, reorder or retire an environment (there is no delete)");
        return app;
    }

    public static async Task<Ok<EnvironmentList>> ListEnvironments(EnvironmentService service, HttpContext http, CancellationToken ct) =>
        TypedResults.Ok(new EnvironmentList(await service.ListAsync(http.GetActor(), ct)));

    public static async Task<Results<Ok<EnvironmentResource>, ProblemHttpResult>> GetEnvironment(EnvironmentService service, string environment,
        HttpContext http, CancellationToken ct) =>
        await service.GetAsync(http.GetActor(), environment, ct) is { } e ? TypedResults.Ok(e) : NotFound(environment);

    public static async Task<Results<Created<EnvironmentResource>, ValidationProblem, ProblemHttpResult>> CreateEnvironment(
        EnvironmentService service, CreateEnvironmentRequest body, HttpContext http, CancellationToken ct)
    {
        var v = EnvironmentRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        return await service.CreateAsync(body, http.GetActor(), ct) switch
        {
            EnvironmentWriteResult.Done done => TypedResults.Created($"/api/environments/{done.Environment.Name}", done.Environment),
            EnvironmentWriteResult.NameTaken taken => Problems.Conflict(taken.Detail),
            EnvironmentWriteResult.Forbidden refused => Problems.Forbidden(refused.Detail),
            var other => throw new InvalidOperationException($"Unexpected result {other}"),
        };
    }

    public static async Task<Results<Ok<EnvironmentResource>, ValidationProblem, ProblemHttpResult>> PatchEnvironment(
        EnvironmentService service, string environment, PatchEnvironmentRequest body, HttpContext http, CancellationToken ct)
    {
        var v = EnvironmentRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        // a scoped key naming another environment was refused by the middleware; this keeps the rule in the handler too
        if (!http.GetActor().Sees(environment)) return NotFound(environment);
        return await service.PatchAsync(environment, body, ct) switch
        {
            EnvironmentWriteResult.Done done => TypedResults.Ok(done.Environment),
            EnvironmentWriteResult.NotFound => NotFound(environment),
            EnvironmentWriteResult.Invalid invalid => invalid.Errors.ToProblem(),
            var other => throw new InvalidOperationException($"Unexpected result {other}"),
        };
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Environment not found", detail: $"No environment is named '{name}'.");
}
