namespace FlagAnalyzer.Api.Common;

/// <summary>
/// The environment a flag-scoped request acts in (issue 26): the <c>{environment}</c> route value of the flag's
/// environment routes, else the <c>?environment=</c> query parameter, else the flag's home environment (null here).
/// Flags/FlagScopeMiddleware checks the name and the caller's scope before any handler runs, so a handler may trust
/// what <see cref="RequestedEnvironment"/> returns.
/// </summary>
public static class FlagEnvironment
{
    public const string QueryParameter = "environment";
    public const string RouteValue = "environment";

    /// <summary>The environment the request names (route value first, then query), or null for the flag's home.</summary>
    public static string? RequestedEnvironment(this HttpContext http) =>
        http.Request.RouteValues.TryGetValue(RouteValue, out var r) && r is string route && route.Length > 0 ? route
        : http.Request.Query.TryGetValue(QueryParameter, out var q) && q.Count == 1 && !string.IsNullOrEmpty(q[0]) ? q[0]
        : null;

    /// <summary>The environment the request acts in for a flag whose home is <paramref name="home"/>.</summary>
    public static string ActingEnvironment(this HttpContext http, string home) => http.RequestedEnvironment() ?? home;
}
