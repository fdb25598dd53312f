using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace FlagAnalyzer.Api.Flags;

public sealed record FlagServices(FlagService Service, FlagReader Reader, Db Db);

public sealed record ChangeResponse(FlagChange Change, Prediction? Prediction);

public static class FlagsApi
{
    public static IEndpointRouteBuilder MapFlagsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/flags").WithTags("Flags");
        api.MapGet("/", ListFlags);
        api.MapPost("/", CreateFlag);
        // registered before "/{idOrName}" routes so "change" is never taken for a flag name
        api.MapPost("/change", RecordChange);
        api.MapGet("/changes", ListAllChanges);
        api.MapGet("/{idOrName}", GetFlag).WithName("GetFlag");
        api.MapPatch("/{idOrName}", PatchFlag);
        api.MapDelete("/{idOrName}", DeleteFlag);
        api.MapGet("/{idOrName}/changes", ListFlagChanges);
        return app;
    }

    public static async Task<Results<Ok<Page<Flag>>, ValidationProblem>> ListFlags(
        [AsParameters] FlagServices s, int? limit, string? cursor, string? environment, bool? enabled, string? owner,
        string? tag, string? q, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        var rows = await FlagStore.ListAsync(conn, new FlagStore.FlagFilter(environment, enabled, owner, tag, q), after, take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, f => f.Name));
    }

    public static async Task<Results<Created<Flag>, ValidationProblem, ProblemHttpResult>> CreateFlag(
        [AsParameters] FlagServices s, CreateFlagRequest body, HttpContext http, CancellationToken ct)
    {
        var v = FlagRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        var r = await s.Service.CreateAsync(body, ChangedBy(body.ChangedBy, http), ct);
        if (r.Outcome == Outcome.Invalid) return r.Errors!.ToProblem();
        if (r.Outcome == Outcome.NameTaken) return Problems.Conflict(r.Detail!);
        http.Response.Headers.ETag = r.Flag!.ETag;
        return TypedResults.Created($"/api/flags/{r.Flag.Id}", r.Flag);
    }

    public static async Task<Results<Ok<Flag>, ProblemHttpResult>> GetFlag([AsParameters] FlagServices s, string idOrName,
        HttpContext http, CancellationToken ct)
    {
        var flag = await s.Reader.GetAsync(idOrName, ct);
        if (flag is null) return Problems.NotFound("Flag", idOrName);
        http.Response.Headers.ETag = flag.ETag;
        return TypedResults.Ok(flag);
    }

    public static async Task<Results<Ok<Flag>, ValidationProblem, ProblemHttpResult>> PatchFlag(
        [AsParameters] FlagServices s, string idOrName, PatchFlagRequest body, HttpContext http, CancellationToken ct)
    {
        var v = FlagRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        var r = await s.Service.PatchAsync(idOrName, body, ifMatch, ChangedBy(body.ChangedBy, http), ct);
        switch (r.Outcome)
        {
            case Outcome.NotFound: return Problems.NotFound("Flag", idOrName);
            case Outcome.Stale: return Problems.PreconditionFailed(r.CurrentVersion);
            case Outcome.NameTaken: return Problems.Conflict(r.Detail!);
            case Outcome.Invalid: return r.Errors!.ToProblem();
        }
        http.Response.Headers.ETag = r.Flag!.ETag;
        return TypedResults.Ok(r.Flag);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteFlag([AsParameters] FlagServices s, string idOrName,
        HttpContext http, CancellationToken ct)
    {
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        var r = await s.Service.DeleteAsync(idOrName, ifMatch, ChangedBy(null, http), ct);
        return r.Outcome switch
        {
            Outcome.NotFound => Problems.NotFound("Flag", idOrName),
            Outcome.Stale => Problems.PreconditionFailed(r.CurrentVersion),
            _ => TypedResults.NoContent(),
        };
    }

    public static async Task<Results<Ok<ChangeResponse>, ValidationProblem, ProblemHttpResult>> RecordChange(
        [AsParameters] FlagServices s, RecordChangeRequest body, CancellationToken ct)
    {
        var v = FlagRules.Validate(body, out var patch);
        if (!v.IsValid) return v.ToProblem();
        var r = await s.Service.RecordChangeAsync(body, patch, ct);
        return r.Outcome switch
        {
            Outcome.NotFound => Problems.NotFound("Flag", body.FlagId ?? body.FlagName ?? ""),
            Outcome.NameTaken => Problems.Conflict(r.Detail!),
            Outcome.Invalid => r.Errors!.ToProblem(),
            _ => TypedResults.Ok(new ChangeResponse(r.Change!, r.Prediction)),
        };
    }

    public static async Task<Results<Ok<Page<FlagChange>>, ValidationProblem, ProblemHttpResult>> ListFlagChanges(
        [AsParameters] FlagServices s, string idOrName, int? limit, string? cursor, string? changeType, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (changeType is not null && !ChangeTypes.All.Contains(changeType)) v.Add("changeType", "is not a known change type");
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        // a deleted flag keeps its history: look the id up in the log when the flag row is gone
        var flagId = (await FlagStore.FindAsync(conn, null, idOrName, ct))?.Id ?? idOrName;
        var rows = await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flagId, changeType, null, null), after, take + 1, ct);
        if (rows.Count == 0 && after is null) return Problems.NotFound("Flag", idOrName);
        return TypedResults.Ok(Paging.Build(rows, take, c => c.Id));
    }

    public static async Task<Results<Ok<Page<FlagChange>>, ValidationProblem>> ListAllChanges(
        [AsParameters] FlagServices s, int? limit, string? cursor, string? flagId, string? changeType, string? environment, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (changeType is not null && !ChangeTypes.All.Contains(changeType)) v.Add("changeType", "is not a known change type");
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        var rows = await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flagId, changeType, environment, null), after, take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, c => c.Id));
    }

    private static string ChangedBy(string? fromBody, HttpContext http) =>
        fromBody is { Length: > 0 and <= FlagRules.MaxOwnerLength } ? fromBody
        : http.Request.Headers["X-Changed-By"].FirstOrDefault() is { Length: > 0 and <= FlagRules.MaxOwnerLength } h ? h
        : "api";

    /// <summary>Reads If-Match: absent → no precondition; <c>*</c> → any version; <c>"n"</c> / <c>W/"n"</c> → version n.</summary>
    private static bool TryIfMatch(HttpContext http, out long? version)
    {
        version = null;
        var raw = http.Request.Headers.IfMatch.ToString().Trim();
        if (raw.Length == 0 || raw == "*") return true;
        if (raw.StartsWith("W/", StringComparison.Ordinal)) raw = raw[2..];
        if (long.TryParse(raw.Trim('"'), out var v)) { version = v; return true; }
        return false;
    }
}
