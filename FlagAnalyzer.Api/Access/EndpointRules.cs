namespace FlagAnalyzer.Api.Access;

/// <summary>Who may call an endpoint, and what else is checked on it.</summary>
/// <param name="Roles">The roles allowed; empty with <see cref="Public"/> set means anyone, without a key.</param>
/// <param name="Public">No key needed. A key that is sent is still checked when <see cref="OptionalKey"/> is set.</param>
/// <param name="OptionalKey">Public, but a valid key shows more (e.g. /health details); a bad key is ignored, not refused.</param>
/// <param name="Live">A live transport (SignalR, /ws): the browser's <c>Origin</c> must be allowed, and writes are not rate-limited.</param>
/// <param name="EnvironmentScoped">
/// The endpoint serves one environment per request (OFREP): a key must be scoped to one environment or be an
/// admin/editor key; the handler filters what it returns with <c>Actor.CanAccessEnvironment</c>.
/// </param>
/// <param name="UrlCredential">
/// No key header (a browser's EventSource cannot send one): the URL carries a short-lived credential bound to a key, which
/// the handler checks and answers 401 without. Public to this middleware for that reason only.
/// </param>
public sealed record EndpointRule(IReadOnlySet<ApiRole> Roles, bool Public = false, bool OptionalKey = false, bool Live = false,
    bool EnvironmentScoped = false, bool UrlCredential = false)
{
    public bool Allows(ApiRole role) => Roles.Contains(role);
}

/// <summary>
/// THE authorization table: one row per (HTTP method, route pattern) the API maps. The access middleware looks
/// every request's endpoint up here (<c>RouteEndpoint.RoutePattern.RawText</c> and the method; <c>*</c> for
/// endpoints that take any method) and refuses what the row does not allow; an endpoint with no row is refused
/// (403) and fails <c>EndpointRulesCoverageTests</c>, so a new endpoint without a row fails the build.
/// <para>
/// To add an endpoint: add a row below with the pattern exactly as ASP.NET Core reports it (a group's prefix
/// joined with the route, e.g. <c>/api/flags/</c> for <c>MapGroup("/api/flags").MapGet("/")</c>) and one of the
/// access levels. The matrix tests (every endpoint × no key, bad key, revoked key, each role, wrong environment)
/// are generated from this table.
/// </para>
/// </summary>
public static class EndpointRules
{
    private static HashSet<ApiRole> Set(params ApiRole[] roles) => [.. roles];

    /// <summary>Anyone, no key.</summary>
    public static readonly EndpointRule Anyone = new(Set(), Public: true);
    /// <summary>Anyone; a valid key shows more.</summary>
    public static readonly EndpointRule AnyoneMoreWithKey = new(Set(), Public: true, OptionalKey: true);
    /// <summary>Any valid key, whatever its role.</summary>
    public static readonly EndpointRule AnyKey = new(Set(ApiRole.Admin, ApiRole.Editor, ApiRole.Viewer, ApiRole.Sdk, ApiRole.Ingest));
    /// <summary>Reads: viewer and up.</summary>
    public static readonly EndpointRule Read = new(Set(ApiRole.Admin, ApiRole.Editor, ApiRole.Viewer));
    /// <summary>Flag, plan and chat writes: editor and up.</summary>
    public static readonly EndpointRule Write = new(Set(ApiRole.Admin, ApiRole.Editor));
    /// <summary>Keys.</summary>
    public static readonly EndpointRule Admin = new(Set(ApiRole.Admin));
    /// <summary>Metrics and telemetry intake.</summary>
    public static readonly EndpointRule Ingest = new(Set(ApiRole.Admin, ApiRole.Editor, ApiRole.Ingest));
    /// <summary>
    /// Flag evaluation (OFREP): sdk keys for their environment, admin and editor for any. Not viewers:
    /// evaluating records exposures, which are the evidence rollouts decide on.
    /// </summary>
    public static readonly EndpointRule Evaluate = new(Set(ApiRole.Admin, ApiRole.Editor, ApiRole.Sdk), EnvironmentScoped: true);
    /// <summary>OFREP event streams: the stream URL's own credential (from a bulk answer to an sdk, admin or editor key), no header.</summary>
    public static readonly EndpointRule StreamCredential = new(Set(), Public: true, UrlCredential: true);
    /// <summary>Live events (SignalR, /ws): readers, from allowed origins.</summary>
    public static readonly EndpointRule LiveRead = new(Set(ApiRole.Admin, ApiRole.Editor, ApiRole.Viewer), Live: true);

    public const string AnyMethod = "*";

    private static readonly Dictionary<(string Method, string Pattern), EndpointRule> Table = new()
    {
        // service
        [("GET", "/")] = Anyone,                                  // name, version, links: what the README says
        [("GET", "/openapi/{documentName}.json")] = Anyone,       // the API's shape, no data
        [(AnyMethod, "/health")] = AnyoneMoreWithKey,                // states to anyone; paths, hosts, versions with a key
        [(AnyMethod, "/alive")] = Anyone,
        [("GET", "/ui/{**path}")] = Anyone,                       // the SPA's files; it asks for a key itself

        // access (this folder)
        [("GET", "/api/auth/me")] = AnyKey,
        [("GET", "/api/keys/")] = Admin,
        [("POST", "/api/keys/")] = Admin,
        [("POST", "/api/keys/{id}/revoke")] = Admin,
        [("GET", "/api/keys/events")] = Admin,

        // environments: everyone who reads flags reads the promotion path; changing it is an admin's
        [("GET", "/api/environments/")] = Read,
        [("POST", "/api/environments/")] = Admin,
        [("GET", "/api/environments/{environment}")] = Read,
        [("PATCH", "/api/environments/{environment}")] = Admin,
        // webhooks: their URLs (often carrying a chat tool's token) and secrets are admin business
        [("GET", "/api/webhooks/")] = Admin,
        [("POST", "/api/webhooks/")] = Admin,
        [("GET", "/api/webhooks/{id}")] = Admin,
        [("PATCH", "/api/webhooks/{id}")] = Admin,
        [("DELETE", "/api/webhooks/{id}")] = Admin,
        [("GET", "/api/webhooks/{id}/deliveries")] = Admin,
        [("POST", "/api/webhooks/{id}/deliveries/{deliveryId}/redeliver")] = Admin,

        // flags
        [("GET", "/api/flags/")] = Read,
        [("POST", "/api/flags/")] = Write,
        [("POST", "/api/flags/change")] = Write,
        [("GET", "/api/flags/changes")] = Read,
        [("GET", "/api/flags/{idOrName}")] = Read,
        [("PATCH", "/api/flags/{idOrName}")] = Write,
        [("DELETE", "/api/flags/{idOrName}")] = Write,
        [("GET", "/api/flags/{idOrName}/changes")] = Read,
        // a flag's configuration per environment: a scoped key reaches its own environment's side of any flag (the access
        // middleware refuses another {environment}; the flag scope middleware lets its own through)
        [("GET", "/api/flags/{idOrName}/environments")] = Read,
        [("GET", "/api/flags/{idOrName}/environments/{environment}")] = Read,
        [("PATCH", "/api/flags/{idOrName}/environments/{environment}")] = Write,
        [("POST", "/api/flags/{idOrName}/environments/{environment}/promote")] = Write,
        [("GET", "/api/flags/{idOrName}/environments/{environment}/promote")] = Read,
        [("GET", "/api/environments/{environment}/flags")] = Read,
        [("GET", "/api/flags/{idOrName}/exposures")] = Read,
        [("GET", "/api/flags/export")] = Read,
        [("POST", "/api/flags/import")] = Write,

        // change requests (issue 27): readers see them; deciding one is an editor's or admin's (four eyes are checked in the handler)
        [("GET", "/api/change-requests/")] = Read,
        [("GET", "/api/change-requests/{id}")] = Read,
        [("POST", "/api/change-requests/{id}/approve")] = Write,
        [("POST", "/api/change-requests/{id}/reject")] = Write,
        [("POST", "/api/change-requests/{id}/cancel")] = Write,

        // rollouts and schedules
        [("GET", "/api/flags/{idOrName}/rollout")] = Read,
        [("PUT", "/api/flags/{idOrName}/rollout")] = Write,
        [("POST", "/api/flags/{idOrName}/rollout/{action}")] = Write,
        [("GET", "/api/flags/{idOrName}/schedules")] = Read,
        [("POST", "/api/flags/{idOrName}/schedules")] = Write,
        [("DELETE", "/api/flags/{idOrName}/schedules/{scheduleId}")] = Write,
        [("GET", "/api/rollouts")] = Read,

        // metrics
        [("POST", "/api/metrics")] = Ingest,
        [("GET", "/api/flags/{idOrName}/metrics")] = Read,

        // predictions, anomalies, analysis
        [("GET", "/api/predictions/")] = Read,
        [("GET", "/api/predictions/{id}")] = Read,
        [("GET", "/api/anomalies/")] = Read,
        [("GET", "/api/anomalies/{id}")] = Read,
        [("POST", "/api/anomalies/{id}/acknowledge")] = Write,
        [("POST", "/api/analyze")] = Write,

        // assistant: chat needs editor (it may act on what it reads); reading a conversation is a read
        [("POST", "/api/chat/")] = Write,
        [("GET", "/api/chat/{sessionId}")] = Read,

        // live
        [(AnyMethod, "/hubs/live/negotiate")] = LiveRead,
        [(AnyMethod, "/hubs/live")] = LiveRead,
        [(AnyMethod, "/ws")] = LiveRead,

        // announced by other branches (a row for an endpoint not mapped yet does no harm)
        [("POST", "/ofrep/v1/evaluate/flags")] = Evaluate,
        [("POST", "/ofrep/v1/evaluate/flags/{key}")] = Evaluate,
        [("GET", "/ofrep/v1/events")] = StreamCredential,
        [("GET", "/api/streams")] = Read,
        [("POST", "/v1/traces")] = Ingest,
        [("POST", "/v1/logs")] = Ingest,
        [("POST", "/v1/metrics")] = Ingest,
        [("POST", "/v1/metrics")] = Ingest,
    };

    /// <summary>Every row, for the coverage and matrix tests.</summary>
    public static IReadOnlyDictionary<(string Method, string Pattern), EndpointRule> All => Table;

    /// <summary>
    /// Whether <paramref name="actor"/> may do what the endpoint (method, pattern) does, for actions that reach the
    /// same capability another way (a chat message sent over /ws is a <c>POST /api/chat/</c>).
    /// </summary>
    public static bool Allows(FlagAnalyzer.Api.Common.Actor? actor, string method, string pattern)
    {
        if (Find(method, pattern) is not { } rule) return false;
        if (rule.Public || ReferenceEquals(actor, FlagAnalyzer.Api.Common.Actor.Unauthenticated)) return true;
        return actor is not null && ApiRoles.TryParse(actor.Role, out var role) && rule.Allows(role);
    }

    /// <summary>The row for a request, or null (refused).</summary>
    public static EndpointRule? Find(string method, string? pattern)
    {
        if (pattern is null) return null;
        // HEAD is answered by GET endpoints
        if (HttpMethods.IsHead(method)) method = HttpMethods.Get;
        return Table.GetValueOrDefault((method, pattern)) ?? Table.GetValueOrDefault((AnyMethod, pattern));
    }
}
