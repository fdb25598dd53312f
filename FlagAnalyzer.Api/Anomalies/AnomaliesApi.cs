using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Anomalies;

public sealed record AnomalyServices(Db Db, AnomalyService Service, IFlagIds Flags);

public sealed record AcknowledgeRequest(string? AcknowledgedBy);

public static class AnomaliesApi
{
    public static IEndpointRouteBuilder MapAnomaliesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/anomalies").WithTags("Anomalies");
        api.MapGet("/", ListAnomalies).WithName("ListAnomalies").WithSummary("Anomalies (open by default; ?flagId=, ?environment=, ?status=, ?type=), newest first, paged");
        api.MapGet("/{id}", GetAnomaly).WithName("GetAnomaly").WithSummary("One anomaly");
        api.MapPost("/{id}/acknowledge", Acknowledge).WithName("AcknowledgeAnomaly").WithSummary("Acknowledge an active anomaly");
        return app;
    }

    /// <summary><c>status</c>: open (default: active and acknowledged), active, acknowledged, resolved or all.</summary>
    public static async Task<Results<Ok<Page<Anomaly>>, ValidationProblem>> ListAnomalies([AsParameters] AnomalyServices s,
        string? flagId, string? status, string? type, string? environment, int? limit, string? cursor, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        IReadOnlyCollection<AnomalyStatus>? statuses = (status ?? "open") switch
        {
            "open" => [AnomalyStatus.Active, AnomalyStatus.Acknowledged],
            "all" => null,
            var one when AnomalyStatuses.TryParse(one, out var parsed) => [parsed],
            _ => Fail(v, "status", "must be open, active, acknowledged, resolved or all"),
        };
        AnomalyType? anomalyType = null;
        if (type is not null)
        {
            if (AnomalyTypes.TryParse(type, out var t)) anomalyType = t;
            else v.Add("type", $"must be one of {string.Join(", ", WireNames<AnomalyType>.AllWords)}");
        }
        EnvironmentNames.Check(environment, v, "environment");
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        var rows = await AnomalyStore.ListAsync(conn, flagId, statuses, anomalyType, after, take + 1, ct, http.GetActor().ListEnvironment(), environment);
        return TypedResults.Ok(Paging.Build(rows, take, a => a.Id));
    }

    public static async Task<Results<Ok<Anomaly>, ProblemHttpResult>> GetAnomaly([AsParameters] AnomalyServices s, string id, HttpContext http,
        CancellationToken ct)
    {
        await using var conn = await s.Db.OpenAsync(ct);
        var a = await AnomalyStore.GetAsync(conn, null, id, ct);
        return a is null || !http.GetActor().Sees(a.Environment) ? Problems.NotFound("Anomaly", id) : TypedResults.Ok(a);
    }

    /// <summary>Active → acknowledged (idempotent); a resolved anomaly cannot be acknowledged (409).</summary>
    public static async Task<Results<Ok<Anomaly>, ValidationProblem, ProblemHttpResult>> Acknowledge([AsParameters] AnomalyServices s,
        string id, AcknowledgeRequest? body, HttpContext http, CancellationToken ct)
    {
        if (body?.AcknowledgedBy is { Length: > 200 }) return Problems.Invalid("acknowledgedBy", "must be at most 200 characters");
        var by = body?.AcknowledgedBy is { Length: > 0 } given ? given : "api";
        // an anomaly's environment never changes: checking it before the write is as good as inside it
        await using (var conn = await s.Db.OpenAsync(ct))
            if (await AnomalyStore.GetAsync(conn, null, id, ct) is { } a && !http.GetActor().Sees(a.Environment))
                return Problems.NotFound("Anomaly", id);
        return await s.Service.AcknowledgeAsync(new AcknowledgeAnomalyCommand(id, by) { Actor = http.GetActor() }, ct) switch
        {
            AcknowledgeResult.Acknowledged done => TypedResults.Ok(done.Anomaly),
            AcknowledgeResult.NotFound => Problems.NotFound("Anomaly", id),
            AcknowledgeResult.AlreadyResolved => Problems.Conflict($"Anomaly {id} is already resolved."),
            var other => throw new InvalidOperationException($"Unexpected result {other}."),
        };
    }

    private static IReadOnlyCollection<AnomalyStatus>? Fail(Validator v, string field, string message)
    {
        v.Add(field, message);
        return null;
    }
}
