using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Access;

public sealed record KeyServices(Db Db, ApiKeyVerifier Verifier, AccessState State, TimeProvider Clock, ILogger<ApiKey> Log);

/// <summary><c>GET /api/auth/me</c>: who the caller is, and whether authentication is on (the UI's banner).</summary>
public sealed record WhoAmI(string? KeyId, string Name, string Role, string? Environment, string AuthMode);

public static partial class KeysApi
{
    public const int MaxNameLength = 100;

    public static IEndpointRouteBuilder MapAccessApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/auth/me", WhoAmI).WithTags("Access").WithName("WhoAmI").WithSummary("The calling key and the authentication mode");
        var keys = app.MapGroup("/api/keys").WithTags("Access");
        keys.MapGet("/", ListKeys).WithName("ListKeys").WithSummary("API keys (never their secrets)");
        keys.MapPost("/", CreateKey).WithName("CreateKey").WithSummary("Create a key; its secret is in this response only");
        keys.MapPost("/{id}/revoke", RevokeKey).WithName("RevokeKey").WithSummary("Revoke a key (every replica within 1 s)");
        keys.MapGet("/events", ListEvents).WithName("ListKeyEvents").WithSummary("Who created and revoked which key, newest first");
        return app;
    }

    public static Ok<WhoAmI> WhoAmI(HttpContext http, IOptions<AccessOptions> options)
    {
        var a = http.GetActorOrAnonymous();
        return TypedResults.Ok(new WhoAmI(a.KeyId, a.Name, a.Role, a.Environment, options.Value.Mode == AuthMode.Disabled ? "disabled" : "enabled"));
    }

    public static async Task<Results<Ok<Page<ApiKey>>, ValidationProblem>> ListKeys([AsParameters] KeyServices s, int? limit, string? cursor, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        return TypedResults.Ok(Paging.Build(await ApiKeyStore.ListAsync(conn, after, take + 1, ct), take, k => k.Id));
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateKey([AsParameters] KeyServices s,
        CreateApiKeyRequest body, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var name = body.Name?.Trim();
        if (string.IsNullOrEmpty(name)) v.Add("name", "is required");
        else if (name.Length > MaxNameLength) v.Add("name", $"must be at most {MaxNameLength} characters");
        if (!ApiRoles.TryParse(body.Role, out var role)) v.Add("role", "must be admin, editor, viewer, sdk or ingest");
        var environment = string.IsNullOrWhiteSpace(body.Environment) ? null : body.Environment.Trim();
        if (environment is not null && !EnvironmentName().IsMatch(environment)) v.Add("environment", "must be 1–50 characters of a-z 0-9 - _ .");
        if (role == ApiRole.Sdk && environment is null) v.Add("environment", "is required for an sdk key (it evaluates flags for one environment)");
        if (!v.IsValid) return v.ToProblem();

        var actor = http.GetActorOrAnonymous();
        var now = s.Clock.GetUtcNow();
        var (secret, prefix, hash) = ApiKeySecrets.Generate();
        var key = new ApiKey(Ids.New("key", s.Clock), prefix, name!, role, environment, actor.KeyId ?? actor.Name, now, null, null);
        // an insert checks nothing it reads; only revocation (the last admin) reads all keys
        await using (var scope = await s.Db.BeginWriteAsync(WriteLock.None, ct))
        {
            await ApiKeyStore.InsertAsync(scope, new StoredApiKey(key, hash), ct);
            await ApiKeyStore.AppendEventAsync(scope, new ApiKeyEvent(Ids.New("kev", s.Clock), key.Id, ApiKeyActions.Created, actor.KeyId, actor.Name, now), ct);
            await scope.CommitAsync(ct);
        }
        s.State.AnyKey = true;
        s.Log.LogInformation("API key {KeyId} ({Role}) created by {ActorKeyId} ({ActorName})", key.Id, key.Role.ToWire(), actor.KeyId, actor.Name);
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created($"/api/keys/{key.Id}", new CreatedApiKey(key, secret));
    }

    /// <summary>Idempotent; the last active admin key cannot be revoked (nobody could create another).</summary>
    public static async Task<Results<Ok<ApiKey>, ProblemHttpResult>> RevokeKey([AsParameters] KeyServices s, string id, HttpContext http, CancellationToken ct)
    {
        var actor = http.GetActorOrAnonymous();
        ApiKey revoked;
        // two revocations of the last two admin keys must not both see the other one still active
        await using (var scope = await s.Db.BeginWriteAsync(ApiKeyStore.Lock, ct))
        {
            var stored = await ApiKeyStore.GetAsync(scope.Connection, scope.Transaction, id, ct);
            if (stored is null) return Problems.NotFound("API key", id);
            if (stored.Key.IsRevoked) return TypedResults.Ok(stored.Key);
            if (stored.Key.Role == ApiRole.Admin && await ActiveAdminsAsync(scope, ct) <= 1)
                return Problems.Conflict("This is the last active admin key; create another admin key before revoking it.");
            var now = s.Clock.GetUtcNow();
            await ApiKeyStore.RevokeAsync(scope, id, now, ct);
            await ApiKeyStore.AppendEventAsync(scope, new ApiKeyEvent(Ids.New("kev", s.Clock), id, ApiKeyActions.Revoked, actor.KeyId, actor.Name, now), ct);
            await scope.CommitAsync(ct);
            revoked = stored.Key with { RevokedAt = now };
        }
        await s.Verifier.RevokedAsync(id);
        s.Log.LogInformation("API key {KeyId} revoked by {ActorKeyId} ({ActorName})", id, actor.KeyId, actor.Name);
        return TypedResults.Ok(revoked);
    }

    public static async Task<Results<Ok<Page<ApiKeyEvent>>, ValidationProblem>> ListEvents([AsParameters] KeyServices s, int? limit, string? cursor,
        CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        return TypedResults.Ok(Paging.Build(await ApiKeyStore.ListEventsAsync(conn, after, take + 1, ct), take, e => e.Id));
    }

    private static Task<long> ActiveAdminsAsync(WriteScope scope, CancellationToken ct) => ApiKeyStore.CountActiveAsync(scope, ApiRole.Admin, ct);

    [GeneratedRegex("^[a-z0-9._-]{1,50}$")]
    private static partial Regex EnvironmentName();
}
