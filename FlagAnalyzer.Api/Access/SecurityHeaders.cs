namespace FlagAnalyzer.Api.Access;

/// <summary>
/// Browser hardening on every response: <c>nosniff</c>, no referrer leaves the site, and no framing. The UI
/// (<c>/ui</c>) also gets a Content-Security-Policy: scripts only from this origin (the Vite build has no inline
/// script), connections (fetch, SignalR, WebSocket) only to this origin. Inline styles stay allowed: React and
/// the chart library set style attributes, which cannot run code.
/// </summary>
public static class SecurityHeaders
{
    public const string UiPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>For API responses (JSON): nothing to load, nothing to frame.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments("/ui") ? UiPolicy : ApiPolicy;
        return next(http);
    });
}
