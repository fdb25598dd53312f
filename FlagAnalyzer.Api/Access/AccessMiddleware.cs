using System.Security.Claims;
using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// Enforces <see cref="EndpointRules"/> on every request that reached an endpoint, in this order: the endpoint
/// has a rule (else 403); a live endpoint's <c>Origin</c> is allowed (else 403); the key — absent, unknown or
/// revoked is 401 with <c>WWW-Authenticate: Bearer</c>, or 429 with <c>Retry-After</c> once the address has too many
/// failed keys (a valid key is served all the same); a state-changing request is not one a cross-site form could
/// send (else 403); the key's role and environment (else 403); a body sent to a JSON endpoint is JSON (else 415).
/// Then the caller is <c>HttpContext.GetActor()</c> for the handlers.
/// </summary>
public sealed class AccessMiddleware(RequestDelegate next, IOptions<AccessOptions> options, AllowedOrigins origins,
    FailedAttempts failures, ApiKeyVerifier verifier, ILogger<AccessMiddleware> log)
{
    private static readonly ClaimsPrincipal DisabledPrincipal = new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, Actor.Unauthenticated.Name), new Claim(ClaimTypes.Role, Actor.Unauthenticated.Role)], "Disabled"));

    private readonly bool _disabled = options.Value.Mode == AuthMode.Disabled;

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint() is not RouteEndpoint endpoint)
        {
            await next(http); // no endpoint: a 404 or 405 follows
            return;
        }
        var rule = EndpointRules.Find(http.Request.Method, endpoint.RoutePattern.RawText);
        if (rule is null)
        {
            log.LogError("No access rule for {Method} {Pattern}: refused. Add a row to Access/EndpointRules.cs.", http.Request.Method, endpoint.RoutePattern.RawText);
            await Problem(http, StatusCodes.Status403Forbidden, "Forbidden", "This endpoint has no access rule.");
            return;
        }
        if (rule.Live && !origins.Allows(http.Request))
        {
            await Problem(http, StatusCodes.Status403Forbidden, "Origin not allowed",
                $"Pages on {http.Request.Headers.Origin} may not open this endpoint (see Cors:AllowedOrigins).");
            return;
        }

        if (_disabled)
        {
            http.User = DisabledPrincipal;
            http.SetActor(Actor.Unauthenticated);
        }
        else if (!rule.Public || rule.OptionalKey)
        {
            if (!await AuthenticateAsync(http, rule)) return;
        }

        if (!rule.Public && !rule.Live && !await RequireNonSimpleAsync(http)) return;
        if (!rule.Public && http.GetActor() is { } actor && !await AuthorizeAsync(http, rule, actor)) return;
        if (!await RequireJsonAsync(http, endpoint)) return;
        if (rule.Live && http.GetActor()?.KeyId is { } keyId)
        {
            // a live connection outlives the check at its start: revoking its key closes it
            using var _ = verifier.OnRevoked(keyId, http.Abort);
            await next(http);
            return;
        }
        await next(http);
    }

    /// <summary>
    /// Sets the caller; false when the response (401/429) is already written. A presented key is verified before the
    /// address's failures are looked at, so a valid key is served whatever else came from its address (a proxy, a NAT,
    /// the AppHost's replica proxy); only requests without a valid key are throttled. Keys are long random secrets: the
    /// throttle bounds the cost and noise of guessing, and answering a valid key does not help anyone guess another.
    /// </summary>
    private async Task<bool> AuthenticateAsync(HttpContext http, EndpointRule rule)
    {
        var presented = ApiKeyAuthenticationHandler.PresentedKey(http);
        if (presented is null)
        {
            if (rule.Public) return true;
            // an address that spent its attempts is refused key-less requests too, without spending more
            if (failures.Blocked(FailedAttempts.ClientAddress(http)) is { } blocked)
            {
                await TooMany(http, blocked);
                return false;
            }
            await Unauthorized(http, "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.", invalid: false);
            return false;
        }
        // UseAuthentication has authenticated a valid key already on the main pipeline: its result, not a second pass.
        // Elsewhere (the OFREP branch has no UseAuthentication) the verifier is asked directly: the ApiKey scheme's handler
        // is this same call, reached through the authentication service and a handler resolved from the request's scope
        ClaimsPrincipal? principal = http.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { Succeeded: true } done
                     && done.Ticket.AuthenticationScheme == ApiKeyAuthenticationHandler.SchemeName
            ? done.Principal
            : null;
        string? failure = null;
        if (principal is null)
        {
            var verified = await verifier.VerifyAsync(presented, http.RequestAborted);
            principal = verified.Principal;
            failure = ApiKeyAuthenticationHandler.FailureOf(verified.Check);
        }
        if (principal is not null)
        {
            http.User = principal;
            http.SetActor(ActorOf(principal));
            return true;
        }
        var address = FailedAttempts.ClientAddress(http);
        var wait = failures.Fail(address);
        if (rule.Public) return true; // a bad key on /health: the anonymous view, not an error
        if (wait is not null)
        {
            await TooMany(http, wait.Value);
            return false;
        }
        log.LogInformation("Refused a request to {Method} {Path} from {Address}: {Reason}", http.Request.Method, http.Request.Path, address, failure);
        await Unauthorized(http, failure ?? "The API key is not valid.", invalid: true);
        return false;
    }

    /// <summary>The caller a verified key's principal stands for: the verifier built it with the principal (no claim lookups).</summary>
    private static Actor ActorOf(ClaimsPrincipal principal) =>
        principal.Identity is ApiKeyIdentity { Caller: { } actor } ? actor
            : new Actor(principal.FindFirstValue(ApiKeyVerifier.KeyIdClaim), principal.Identity!.Name!, principal.FindFirstValue(ClaimTypes.Role)!)
            {
                Environment = principal.FindFirstValue(ApiKeyVerifier.EnvironmentClaim),
            };

    private static async Task<bool> AuthorizeAsync(HttpContext http, EndpointRule rule, Actor actor)
    {
        if (ReferenceEquals(actor, Actor.Unauthenticated)) return true; // Auth:Mode=disabled
        if (!ApiRoles.TryParse(actor.Role, out var role) || !rule.Allows(role))
        {
            await Problem(http, StatusCodes.Status403Forbidden, "Forbidden", $"A key with the role '{actor.Role}' may not {http.Request.Method} this endpoint.");
            return false;
        }
        if (actor.Environment is { } scope)
        {
            // a request that names an environment must name the key's; handlers filter the rest with Actor.CanAccessEnvironment
            var named = http.Request.RouteValues.TryGetValue("environment", out var v) && v is string fromRoute ? fromRoute
                : http.Request.Query["environment"].ToString() is { Length: > 0 } fromQuery ? fromQuery : null;
            if (named is not null && !string.Equals(named, scope, StringComparison.Ordinal))
            {
                await Problem(http, StatusCodes.Status403Forbidden, "Forbidden", $"This key is scoped to the environment '{scope}'.");
                return false;
            }
        }
        else if (rule.EnvironmentScoped && role == ApiRole.Sdk)
        {
            await Problem(http, StatusCodes.Status403Forbidden, "Forbidden", "An sdk key must be scoped to an environment.");
            return false;
        }
        return true;
    }

    /// <summary>
    /// A state-changing request must carry something a cross-site page cannot send without the browser asking first
    /// (a CORS preflight, which only <c>Cors:AllowedOrigins</c> pass): a key header, <c>X-Requested-With</c>, or a body
    /// whose Content-Type is not one a form can send (JSON, protobuf). With keys this always holds; with
    /// <c>Auth:Mode=disabled</c> it is what stops another site's form from starting or aborting a rollout.
    /// </summary>
    private static async Task<bool> RequireNonSimpleAsync(HttpContext http)
    {
        var request = http.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)) return true;
        var headers = request.Headers;
        if (headers.Authorization.Count > 0 || headers.ContainsKey(ApiKeyAuthenticationHandler.ApiKeyHeader) || headers.XRequestedWith.Count > 0) return true;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Value is { } media
            && !media.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            && !media.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            && !media.Equals("text/plain", StringComparison.OrdinalIgnoreCase)) return true;
        await Problem(http, StatusCodes.Status403Forbidden, "Cross-site request refused",
            "A request that changes state must send a JSON (or OTLP protobuf) body, an API key header or 'X-Requested-With', " +
            "which a page on another site cannot send without the browser asking this API first.");
        return false;
    }

    /// <summary>A body sent to an endpoint that declares the media types it reads must be one of them (no forms, no text/plain).</summary>
    private static async Task<bool> RequireJsonAsync(HttpContext http, RouteEndpoint endpoint)
    {
        var request = http.Request;
        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (!hasBody || endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not { ContentTypes.Count: > 0 } accepts) return true;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var sent))
        {
            foreach (var type in accepts.ContentTypes)
                if (MediaTypeHeaderValue.TryParse(type, out var accepted) && sent.IsSubsetOf(accepted)) return true;
        }
        await Problem(http, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
            $"Send the body as {string.Join(" or ", accepts.ContentTypes)} (Content-Type header).");
        return false;
    }

    private static Task Unauthorized(HttpContext http, string detail, bool invalid)
    {
        http.Response.Headers.WWWAuthenticate = invalid ? "Bearer error=\"invalid_token\"" : "Bearer";
        return Problem(http, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    private static Task TooMany(HttpContext http, TimeSpan wait)
    {
        http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problem(http, StatusCodes.Status429TooManyRequests, "Too many failed attempts",
            "Too many requests with an invalid API key came from this address; wait and retry.");
    }

    internal static Task Problem(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }
}
