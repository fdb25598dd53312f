using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Predictions;

public static class PredictionsApi
{
    public static IEndpointRouteBuilder MapPredictionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/predictions").WithTags("Predictions");
        api.MapGet("/", ListPredictions).WithName("ListPredictions").WithSummary("Predictions (?flagId=, ?environment=, ?riskLevel=, ?source=), newest first, paged");
        api.MapGet("/{id}", GetPrediction).WithName("GetPrediction").WithSummary("One prediction");
        return app;
    }

    /// <summary>Newest first; <c>source</c> is <c>statistical</c>, <c>llm</c> (any model) or an exact <c>llm:model</c>.</summary>
    public static async Task<Results<Ok<Page<Prediction>>, ValidationProblem>> ListPredictions(Db db, string? flagId, string? riskLevel,
        string? source, string? environment, int? limit, string? cursor, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        RiskLevel? level = null;
        if (riskLevel is not null)
        {
            if (RiskLevels.TryParse(riskLevel, out var parsed)) level = parsed;
            else v.Add("riskLevel", "must be low, medium, high or critical");
        }
        EnvironmentNames.Check(environment, v, "environment");
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await db.OpenAsync(ct);
        var rows = await PredictionStore.ListAsync(conn, flagId, level, source, after, take + 1, ct, http.GetActor().ListEnvironment(), environment);
        return TypedResults.Ok(Paging.Build(rows, take, p => p.Id));
    }

    public static async Task<Results<Ok<Prediction>, ProblemHttpResult>> GetPrediction(Db db, IFlagIds flags, string id, HttpContext http, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var p = await PredictionStore.GetAsync(conn, null, id, ct);
        return p is null || !http.GetActor().Sees(p.Environment) ? Problems.NotFound("Prediction", id) : TypedResults.Ok(p);
    }
}
