using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// A flag's configuration per environment (issue 26). The route parameter is named <c>environment</c>, so the access
/// middleware refuses a scoped key another environment's route (403) and the flag scope middleware lets it reach its own
/// environment's side of any flag; reads come from the database, so they never trail the write they follow.
/// </summary>
public static class FlagEnvironmentsApi
{
    public static IEndpointRouteBuilder MapFlagEnvironmentsApi(this IEndpointRouteBuilder app)
    {
        var flags = app.MapGroup("/api/flags").WithTags("Flags");
        flags.MapGet("/{idOrName}/environments", ListConfigurations).WithName("ListFlagConfigurations")
            .WithSummary("A flag's configuration in every environment (those the key reaches), in promotion order");
        flags.MapGet("/{idOrName}/environments/{environment}", GetConfiguration).WithName("GetFlagConfiguration")
            .WithSummary("A flag's configuration in one environment, with its ETag");
        flags.MapPatch("/{idOrName}/environments/{environment}", PatchConfiguration).WithName("PatchFlagConfiguration")
            .WithSummary("Change a flag's configuration in one environment (If-Match: the configuration's version)");
        flags.MapPost("/{idOrName}/environments/{environment}/promote", Promote).WithName("PromoteFlagConfiguration")
            .WithSummary("Copy another environment's configuration of the flag into this one (one change row naming the source)");
        flags.MapGet("/{idOrName}/environments/{environment}/promote", PreviewPromotion).WithName("PreviewFlagPromotion")
            .WithSummary("What a promotion from ?from= into this environment would change, field by field");
        app.MapGroup("/api/environments").WithTags("Environments")
            .MapGet("/{environment}/flags", ListEnvironmentFlags).WithName("ListEnvironmentFlags")
            .WithSummary("Every flag with this environment's configuration");
        return app;
    }

    public static async Task<Results<Ok<FlagConfigurationList>, ProblemHttpResult>> ListConfigurations([AsParameters] FlagServices s, string idOrName,
        HttpContext http, CancellationToken ct)
    {
        var actor = http.GetActor();
        if (await s.Service.ListConfigurationsAsync(actor, idOrName, ct) is not { } found || !actor.Sees(http.ActingEnvironment(found.Flag.TargetEnvironment)))
            return Problems.NotFound("Flag", idOrName);
        return TypedResults.Ok(new FlagConfigurationList(found.Items));
    }

    public static async Task<Results<Ok<FlagConfiguration>, ProblemHttpResult>> GetConfiguration([AsParameters] FlagServices s, string idOrName,
        string environment, HttpContext http, CancellationToken ct)
    {
        var actor = http.GetActor();
        if (await s.Service.ListConfigurationsAsync(actor, idOrName, ct) is not { } found) return Problems.NotFound("Flag", idOrName);
        if (found.Items.FirstOrDefault(c => c.Environment == environment) is not { } configuration) return EnvironmentNotFound(environment);
        http.Response.Headers.ETag = configuration.ETag;
        return TypedResults.Ok(configuration);
    }

    public static async Task<Results<Ok<FlagConfiguration>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> PatchConfiguration([AsParameters] FlagServices s,
        string idOrName, string environment, PatchConfigurationRequest body, bool? bypass, HttpContext http, CancellationToken ct)
    {
        var v = Validate(body);
        if (!v.IsValid) return v.ToProblem();
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        var command = new PatchConfigurationCommand(idOrName, environment, body, ifMatch, ChangedBy(body.ChangedBy, http)) { Actor = http.GetActor(), Bypass = bypass == true };
        return Answer(await s.Service.PatchConfigurationAsync(command, ct), idOrName, http);
    }

    public static async Task<Results<Ok<FlagConfiguration>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> Promote([AsParameters] FlagServices s,
        string idOrName, string environment, PromoteRequest body, bool? bypass, HttpContext http, CancellationToken ct)
    {
        // an unknown flag is a 404 whatever the body says, as on every route that names one
        if (await s.Reader.GetAsync(idOrName, ct) is null) return Problems.NotFound("Flag", idOrName);
        var v = new Validator();
        if (string.IsNullOrEmpty(body.From)) v.Add("from", "is required: the environment to copy the configuration from");
        else FlagRules.CheckEnvironment(body.From, v, "from");
        FlagRules.CheckChangedBy(body.ChangedBy, v);
        if (!v.IsValid) return v.ToProblem();
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        var command = new PromoteCommand(idOrName, environment, body.From!, ifMatch, ChangedBy(body.ChangedBy, http)) { Actor = http.GetActor(), Bypass = bypass == true };
        return Answer(await s.Service.PromoteAsync(command, ct), idOrName, http);
    }

    public static async Task<Results<Ok<PromotionDiff>, ValidationProblem, ProblemHttpResult>> PreviewPromotion([AsParameters] FlagServices s,
        string idOrName, string environment, string? from, HttpContext http, CancellationToken ct)
    {
        if (await s.Reader.GetAsync(idOrName, ct) is null) return Problems.NotFound("Flag", idOrName);
        var v = new Validator();
        if (string.IsNullOrEmpty(from)) v.Add("from", "is required: the environment to copy the configuration from");
        else FlagRules.CheckEnvironment(from, v, "from");
        if (!v.IsValid) return v.ToProblem();
        return await s.Service.PreviewPromotionAsync(http.GetActor(), idOrName, environment, from!, ct) switch
        {
            FlagWriteResult.Previewed p => TypedResults.Ok(p.Diff),
            FlagWriteResult.NotFound => Problems.NotFound("Flag", idOrName),
            FlagWriteResult.UnknownEnvironment u => EnvironmentNotFound(u.Name),
            FlagWriteResult.Invalid invalid => invalid.Errors.ToProblem(),
            FlagWriteResult.Forbidden refused => Problems.Forbidden(refused.Detail),
            var other => throw new InvalidOperationException($"Unexpected flag write result {other.GetType().Name}."),
        };
    }

    public static async Task<Results<Ok<EnvironmentFlagList>, ProblemHttpResult>> ListEnvironmentFlags([AsParameters] FlagServices s,
        string environment, HttpContext http, CancellationToken ct)
    {
        // a scoped key naming another environment was refused by the access middleware; this keeps the rule in the handler too
        if (!http.GetActor().Sees(environment)) return EnvironmentNotFound(environment);
        return await s.Service.ListEnvironmentFlagsAsync(environment, ct) is { } items
            ? TypedResults.Ok(new EnvironmentFlagList(items))
            : EnvironmentNotFound(environment);
    }

    private static Results<Ok<FlagConfiguration>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult> Answer(FlagWriteResult result, string idOrName, HttpContext http)
    {
        switch (result)
        {
            // a protected environment holds the change for a second person (issue 27)
            case FlagWriteResult.Held held:
                return TypedResults.Accepted($"/api/change-requests/{held.ChangeRequest.Id}", new HeldChangeResponse(held.ChangeRequest));
            case FlagWriteResult.ConfigurationDone done:
                http.Response.Headers.ETag = done.Configuration.ETag;
                return TypedResults.Ok(done.Configuration);
            case FlagWriteResult.NotFound: return Problems.NotFound("Flag", idOrName);
            case FlagWriteResult.UnknownEnvironment u: return EnvironmentNotFound(u.Name);
            case FlagWriteResult.Stale stale: return Problems.PreconditionFailed(stale.CurrentVersion);
            case FlagWriteResult.Invalid invalid: return invalid.Errors.ToProblem();
            case FlagWriteResult.Forbidden refused: return Problems.Forbidden(refused.Detail);
            case var other: throw new InvalidOperationException($"Unexpected flag write result {other.GetType().Name}.");
        }
    }

    /// <summary>The shapes of a configuration patch; whether variants and targeting fit the flag is checked on the whole flag.</summary>
    public static Validator Validate(PatchConfigurationRequest r)
    {
        var v = new Validator();
        v.Range(r.RolloutPercentage, 0, 100, "rolloutPercentage");
        FlagRules.CheckVariantName(r.DefaultVariant, "defaultVariant", v);
        FlagRules.CheckVariantName(r.OffVariant, "offVariant", v);
        if (r.Targeting is { ValueKind: not (System.Text.Json.JsonValueKind.Object or System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined) })
            v.Add("targeting", "must be a JSONLogic object (or {} for none)");
        FlagRules.CheckChangedBy(r.ChangedBy, v);
        return v;
    }

    private static ProblemHttpResult EnvironmentNotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Environment not found", detail: $"No environment is named '{name}'.");

    /// <summary>As every flag write names its actor (README): the body's <c>changedBy</c>, else <c>X-Changed-By</c>, else <c>api</c>.</summary>
    private static string ChangedBy(string? fromBody, HttpContext http) => FlagsApi.ChangedBy(fromBody, http);

    private static bool TryIfMatch(HttpContext http, out long? version) => FlagsApi.TryIfMatch(http, out version);
}
