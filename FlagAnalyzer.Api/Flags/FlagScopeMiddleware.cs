using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// <see cref="FlagScope"/> for every route that names a flag in its path (<c>{idOrName}</c>: the flag, its changes,
/// metrics, exposures, rollout and schedules, whichever folder maps them): a flag stored outside the caller's
/// environment is answered 404 before any handler runs, exactly as an unknown one. Runs after access control set the
/// caller; an unscoped caller costs nothing.
/// </summary>
public sealed class FlagScopeMiddleware(RequestDelegate next, FlagReader flags)
{
    public const string RouteValue = "idOrName";

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.GetActor() is { Environment: not null } actor
            && http.Request.RouteValues.TryGetValue(RouteValue, out var value) && value is string idOrName
            && await flags.GetAsync(idOrName, http.RequestAborted) is { } flag && !actor.Sees(flag.TargetEnvironment))
        {
            await Problems.NotFound("Flag", idOrName).ExecuteAsync(http);
            return;
        }
        await next(http);
    }
}

public static class FlagScopeMiddlewareExtensions
{
    /// <summary>After access control (it reads the caller), before the endpoints.</summary>
    public static IApplicationBuilder UseFlagScope(this IApplicationBuilder app) => app.UseMiddleware<FlagScopeMiddleware>();
}
