using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace FlagAnalyzer.Api.Flags;

public sealed record FlagServices(FlagService Service, FlagReader Reader, Db Db);

/// <summary>The recorded change and its prediction (a Predictions resource, serialised by its runtime type).</summary>
/// <summary><see cref="Change"/> and <see cref="Prediction"/> are null when the change changed nothing (nothing was logged).</summary>
public sealed record ChangeResponse(FlagChange? Change, Prediction? Prediction);

public static class FlagsApi
{
    public static IEndpointRouteBuilder MapFlagsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/flags").WithTags("Flags");
        api.MapGet("/", ListFlags).WithName("ListFlags").WithSummary("Flags, filtered and paged by name");
        api.MapPost("/", CreateFlag).WithName("CreateFlag").WithSummary("Create a flag");
        // registration order does not matter: among endpoints accepting the method, routing ranks a literal segment
        // above a parameter, so GET /changes is the change log even if a flag is named "changes"
        api.MapPost("/change", RecordChange).WithName("RecordChange").WithSummary("Record a change (the seed's call): applies it and returns the change with its prediction");
        api.MapGet("/changes", ListAllChanges).WithName("ListAllChanges")
            .WithSummary("The change log of all flags, newest first; with afterRevision, the change feed: the changes after that revision, oldest first");
        api.MapGet("/{idOrName}", GetFlag).WithName("GetFlag").WithSummary("One flag by id or name, with its ETag");
        api.MapPatch("/{idOrName}", PatchFlag).WithName("PatchFlag").WithSummary("Change a flag's fields (If-Match for optimistic concurrency)");
        api.MapDelete("/{idOrName}", DeleteFlag).WithName("DeleteFlag").WithSummary("Delete a flag (its change log stays)");
        api.MapGet("/{idOrName}/changes", ListFlagChanges).WithName("ListFlagChanges").WithSummary("One flag's change log, newest first");
        return app;
    }

    public static async Task<Results<Ok<Page<Flag>>, ValidationProblem>> ListFlags(
        [AsParameters] FlagServices s, int? limit, string? cursor, string? environment, bool? enabled, string? owner,
        string? tag, string? q, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        var rows = await FlagStore.ListAsync(conn, new FlagStore.FlagFilter(environment ?? http.GetActor().ListEnvironment(), enabled, owner, tag, q), after, take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, f => f.Name));
    }

    public static async Task<Results<Created<Flag>, ValidationProblem, ProblemHttpResult>> CreateFlag(
        [AsParameters] FlagServices s, CreateFlagRequest body, HttpContext http, CancellationToken ct)
    {
        var v = FlagRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        switch (await s.Service.CreateAsync(new CreateFlagCommand(body, ChangedBy(body.ChangedBy, http)) { Actor = http.GetActor() }, ct))
        {
            case FlagWriteResult.Done done:
                http.Response.Headers.ETag = done.Flag.ETag;
                return TypedResults.Created($"/api/flags/{done.Flag.Id}", done.Flag);
            case FlagWriteResult.NameTaken taken: return Problems.Conflict(taken.Detail);
            case FlagWriteResult.Invalid invalid: return invalid.Errors.ToProblem();
            case FlagWriteResult.Forbidden refused: return Problems.Forbidden(refused.Detail);
            case var other: throw Unexpected(other);
        }
    }

    public static async Task<Results<Ok<Flag>, ProblemHttpResult>> GetFlag([AsParameters] FlagServices s, string idOrName,
        HttpContext http, CancellationToken ct)
    {
        var flag = await s.Reader.GetForAsync(http.GetActor(), idOrName, ct);
        if (flag is null) return Problems.NotFound("Flag", idOrName);
        http.Response.Headers.ETag = flag.ETag;
        return TypedResults.Ok(flag);
    }

    public static async Task<Results<Ok<Flag>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> PatchFlag(
        [AsParameters] FlagServices s, string idOrName, PatchFlagRequest body, bool? bypass, HttpContext http, CancellationToken ct)
    {
        var v = FlagRules.Validate(body);
        if (!v.IsValid) return v.ToProblem();
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        var command = new PatchFlagCommand(idOrName, body, ifMatch, ChangedBy(body.ChangedBy, http)) { Actor = http.GetActor(), Bypass = bypass == true };
        switch (await s.Service.PatchAsync(command, ct))
        {
            case FlagWriteResult.Done done:
                http.Response.Headers.ETag = done.Flag.ETag;
                return TypedResults.Ok(done.Flag);
            case FlagWriteResult.Held held: return Accepted(held);
            case FlagWriteResult.NotFound: return Problems.NotFound("Flag", idOrName);
            case FlagWriteResult.Stale stale: return Problems.PreconditionFailed(stale.CurrentVersion);
            case FlagWriteResult.NameTaken taken: return Problems.Conflict(taken.Detail);
            case FlagWriteResult.Invalid invalid: return invalid.Errors.ToProblem();
            case FlagWriteResult.Forbidden refused: return Problems.Forbidden(refused.Detail);
            case var other: throw Unexpected(other);
        }
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteFlag([AsParameters] FlagServices s, string idOrName,
        HttpContext http, CancellationToken ct)
    {
        if (!TryIfMatch(http, out var ifMatch)) return Problems.PreconditionFailed(-1);
        return await s.Service.DeleteAsync(new DeleteFlagCommand(idOrName, ifMatch, ChangedBy(null, http)) { Actor = http.GetActor() }, ct) switch
        {
            FlagWriteResult.Done => TypedResults.NoContent(),
            FlagWriteResult.NotFound => Problems.NotFound("Flag", idOrName),
            FlagWriteResult.Stale stale => Problems.PreconditionFailed(stale.CurrentVersion),
            var other => throw Unexpected(other),
        };
    }

    public static async Task<Results<Ok<ChangeResponse>, Accepted<HeldChangeResponse>, ValidationProblem, ProblemHttpResult>> RecordChange(
        [AsParameters] FlagServices s, RecordChangeRequest body, bool? bypass, HttpContext http, CancellationToken ct)
    {
        var v = FlagRules.Validate(body, out var patch, out var changeType);
        if (!v.IsValid) return v.ToProblem();
        return await s.Service.RecordChangeAsync(new RecordChangeCommand(body, changeType, patch) { Actor = http.GetActor(), Bypass = bypass == true }, ct) switch
        {
            FlagWriteResult.Done done => TypedResults.Ok(new ChangeResponse(done.Change, done.Prediction?.Prediction)),
            FlagWriteResult.Held held => Accepted(held),
            FlagWriteResult.Contradiction c => Problems.Invalid(c.Field, c.Detail),
            FlagWriteResult.NotFound => Problems.NotFound("Flag", body.FlagId ?? body.FlagName ?? ""),
            FlagWriteResult.NameTaken taken => Problems.Conflict(taken.Detail),
            FlagWriteResult.Invalid invalid => invalid.Errors.ToProblem(),
            FlagWriteResult.Forbidden refused => Problems.Forbidden(refused.Detail),
            var other => throw Unexpected(other),
        };
    }

    public static async Task<Results<Ok<Page<FlagChange>>, ValidationProblem, ProblemHttpResult>> ListFlagChanges(
        [AsParameters] FlagServices s, string idOrName, int? limit, string? cursor, string? changeType, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        var type = ChangeTypeFilter(changeType, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        // a deleted flag keeps its history: look the id up in the log when the flag row is gone
        var actor = http.GetActor();
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        // ?environment= (issue 26): that environment's changes of the flag, which a key scoped to it may read for any flag
        if (flag is not null && !actor.Sees(http.ActingEnvironment(flag.TargetEnvironment))) return Problems.NotFound("Flag", idOrName);
        // a deleted flag's rows: only those logged in the caller's environment
        var rows = await FlagStore.ListChangesAsync(conn, null,
            new FlagStore.ChangeFilter(flag?.Id ?? idOrName, type, http.RequestedEnvironment() ?? actor.ListEnvironment(), null), after, take + 1, ct);
        if (rows.Count == 0 && after is null) return Problems.NotFound("Flag", idOrName);
        return TypedResults.Ok(Paging.Build(rows, take, c => c.Id));
    }

    /// <summary>
    /// The change log, newest first; or, with <paramref name="afterRevision"/>, the change feed: every change after that
    /// revision in revision (commit) order. A client that asks again with the last revision it got (or follows
    /// <c>nextCursor</c>) sees every change exactly once, whichever replica committed it.
    /// </summary>
    public static async Task<Results<Ok<Page<FlagChange>>, ValidationProblem>> ListAllChanges(
        [AsParameters] FlagServices s, int? limit, string? cursor, string? flagId, string? changeType, string? environment, string? afterRevision,
        HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        var type = ChangeTypeFilter(changeType, v);
        long? from = null;
        if (afterRevision is not null)
        {
            if (long.TryParse(afterRevision, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var r)) from = r;
            else v.Add("afterRevision", "must be a revision: a whole number, 0 or more");
            // in the feed a cursor is a revision too (nextCursor of a feed page)
            if (after is not null && !long.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                v.Add("cursor", "is not a cursor of the change feed");
        }
        if (!v.IsValid) return v.ToProblem();
        var filter = new FlagStore.ChangeFilter(flagId, type, environment ?? http.GetActor().ListEnvironment(), null);
        await using var conn = await s.Db.OpenAsync(ct);
        if (from is { } start)
        {
            var position = after is not null ? Math.Max(start, long.Parse(after, System.Globalization.CultureInfo.InvariantCulture)) : start;
            var feed = await FlagStore.ListChangesAfterAsync(conn, position, filter, take + 1, ct);
            return TypedResults.Ok(Paging.Build(feed, take, c => c.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        var rows = await FlagStore.ListChangesAsync(conn, null, filter, after, take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, c => c.Id));
    }

    private static ChangeType? ChangeTypeFilter(string? changeType, Validator v)
    {
        if (changeType is null) return null;
        if (ChangeTypes.TryParse(changeType, out var type)) return type;
        v.Add("changeType", "is not a known change type");
        return null;
    }

    /// <summary>202: the environment is protected; the change waits, as a change request, for a second key's approval.</summary>
    private static Accepted<HeldChangeResponse> Accepted(FlagWriteResult.Held held) =>
        TypedResults.Accepted($"/api/change-requests/{held.ChangeRequest.Id}", new HeldChangeResponse(held.ChangeRequest));

    private static InvalidOperationException Unexpected(FlagWriteResult r) => new($"Unexpected flag write result {r.GetType().Name}.");

    internal static string ChangedBy(string? fromBody, HttpContext http) =>
        fromBody is { Length: > 0 and <= FlagRules.MaxOwnerLength } ? fromBody
        : http.Request.Headers["X-Changed-By"].FirstOrDefault() is { Length: > 0 and <= FlagRules.MaxOwnerLength } h ? h
        : "api";

    /// <summary>Reads If-Match: absent → no precondition; <c>*</c> → any version; <c>"n"</c> / <c>W/"n"</c> → version n.</summary>
    internal static bool TryIfMatch(HttpContext http, out long? version)
    {
        version = null;
        var raw = http.Request.Headers.IfMatch.ToString().Trim();
        if (raw.Length == 0 || raw == "*") return true;
        if (raw.StartsWith("W/", StringComparison.Ordinal)) raw = raw[2..];
        if (long.TryParse(raw.Trim('"'), out var v)) { version = v; return true; }
        return false;
    }
}
