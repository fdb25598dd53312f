using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Anomalies;

/// <param name="Environment">The environment to analyse (issue 26); null: each flag's home.</param>
public sealed record AnalyzeRequest(string? FlagId, string? Environment = null);

/// <summary>
/// <c>POST /api/analyze</c>: what the detector found, per flag, plus what this pass changed (anomalies raised
/// or resolved, guardian rollbacks).
/// </summary>
public sealed record AnalyzeResponse(
    DateTimeOffset AnalyzedAt,
    IReadOnlyList<FlagAnalysisReport> Flags,
    IReadOnlyList<Anomaly> Detected,
    IReadOnlyList<Anomaly> Resolved,
    IReadOnlyList<FlagChange> Rollbacks);

public sealed record AnalysisServices(AnomalyService Service);

public static class AnalysisApi
{
    public static IEndpointRouteBuilder MapAnalysisApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/analyze", Analyze).WithTags("Analysis")
            .WithName("Analyze").WithSummary("Run detection now for one flag or all flags");
        return app;
    }

    /// <summary>Runs detection now for one flag (<c>flagId</c>: id or name) or, with no body or no flagId, for every flag.</summary>
    public static async Task<Results<Ok<AnalyzeResponse>, ValidationProblem, ProblemHttpResult>> Analyze(
        [AsParameters] AnalysisServices s, AnalyzeRequest? body, HttpContext http, CancellationToken ct)
    {
        if (body?.FlagId is { } given && string.IsNullOrWhiteSpace(given)) return Problems.Invalid("flagId", "must be a flag id or name when given");
        // the body's environment, else ?environment= (the flag routes' word)
        var environment = body?.Environment ?? http.RequestedEnvironment();
        var v = new Validator();
        EnvironmentNames.Check(environment, v, body?.Environment is not null ? "environment" : FlagEnvironment.QueryParameter);
        if (!v.IsValid) return v.ToProblem();

        return await s.Service.AnalyzeAsync(new AnalyzeCommand(body?.FlagId) { Actor = http.GetActor(), Environment = environment }, ct) switch
        {
            AnalyzeResult.Analyzed done => TypedResults.Ok(done.Response),
            AnalyzeResult.FlagNotFound nf => Problems.NotFound("Flag", nf.Key),
            var other => throw new InvalidOperationException($"Unexpected result {other}."),
        };
    }
}
