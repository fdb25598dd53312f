using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// The <c>ApiKey</c> authentication scheme. A key is read from <c>Authorization: Bearer …</c>, else
/// <c>X-API-Key: …</c>, else — only on the live endpoints (<c>/hubs/…</c>, <c>/ws</c>), because browsers
/// cannot set headers on a WebSocket — the <c>access_token</c> query parameter. No key: no result (the rule
/// decides whether that is a 401); a key that is unknown or revoked: a failure.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ApiKeyHeader = "X-API-Key";
    public const string QueryParameter = "access_token";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Context);
        if (presented is null) return AuthenticateResult.NoResult();
        var result = await verifier.VerifyAsync(presented, Context.RequestAborted);
        return result.Check == KeyCheck.Valid
            ? AuthenticateResult.Success(new AuthenticationTicket(result.Principal!, SchemeName))
            : AuthenticateResult.Fail(FailureOf(result.Check)!);
    }

    /// <summary>Why a presented key is refused (null: it is valid); the access middleware answers with the same words.</summary>
    public static string? FailureOf(KeyCheck check) => check switch
    {
        KeyCheck.Valid => null,
        KeyCheck.Revoked => "The API key has been revoked.",
        _ => "The API key is not valid.",
    };

    /// <summary>The key the request carries, or null; whitespace-only counts as none.</summary>
    public static string? PresentedKey(HttpContext http)
    {
        var headers = http.Request.Headers;
        var authorization = headers[HeaderNames.Authorization].ToString();
        if (authorization.Length > 0)
        {
            // a malformed Authorization header is a bad key, not an absent one
            return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : authorization;
        }
        var header = headers[ApiKeyHeader].ToString().Trim();
        if (header.Length > 0) return header;
        if (IsLivePath(http.Request.Path) && http.Request.Query[QueryParameter].ToString() is { Length: > 0 } q) return q;
        return null;
    }

    public static bool IsLivePath(PathString path) =>
        path.StartsWithSegments("/hubs", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/ws", StringComparison.OrdinalIgnoreCase);
}
