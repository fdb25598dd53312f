using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Anomalies;

public sealed record AnalyzeRequest(string? FlagId);

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

public sealed record AnalysisServices(Db Db, StatisticalAnomalyMonitor Monitor, AnomalyEvents Events, TimeProvider Clock);

public static class AnalysisApi
{
    public static IEndpointRouteBuilder MapAnalysisApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/analyze", Analyze).WithTags("Analysis");
        return app;
    }

    /// <summary>Runs detection now for one flag (<c>flagId</c>: id or name) or, with no body or no flagId, for every flag.</summary>
    public static async Task<Results<Ok<AnalyzeResponse>, ValidationProblem, ProblemHttpResult>> Analyze(
        [AsParameters] AnalysisServices s, AnalyzeRequest? body, CancellationToken ct)
    {
        if (body?.FlagId is { } given && string.IsNullOrWhiteSpace(given)) return Problems.Invalid("flagId", "must be a flag id or name when given");

        DetectionRun run;
        await using (var scope = await s.Db.BeginWriteAsync(ct))
        {
            List<string> ids;
            if (body?.FlagId is { } key)
            {
                var flag = await FlagStore.FindAsync(scope.Connection, scope.Transaction, key, ct);
                if (flag is null) return Problems.NotFound("Flag", key);
                ids = [flag.Id];
            }
            else ids = await AnalysisStore.FlagIdsAsync(scope, ct);
            run = await s.Monitor.RunAsync(scope, ids, ct);
            await scope.CommitAsync(ct);
        }
        await s.Events.PublishAsync(run.Outcome, ct);
        return TypedResults.Ok(new AnalyzeResponse(s.Clock.GetUtcNow(), run.Reports, run.Outcome.Detected, run.Outcome.Resolved,
            run.Outcome.Rollbacks.Select(m => m.Change).ToList()));
    }
}
