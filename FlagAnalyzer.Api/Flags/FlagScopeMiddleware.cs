using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// <see cref="FlagScope"/> for every route that names a flag in its path (<c>{idOrName}</c>: the flag, its changes,
/// metrics, exposures, rollout and schedules, whichever folder maps them), answered before any handler runs:
/// <list type="bullet">
/// <item>a malformed <c>?environment=</c> is a 400 naming it (<see cref="FlagEnvironment"/>);</item>
/// <item>a scoped caller acting in an environment other than its own is answered 404, exactly as an unknown flag. The
/// acting environment is the one the request names, else the flag's home: without <c>?environment=</c> a scoped key
/// reaches only the flags stored in its environment (issue 23), and with it, its own environment's side of any flag
/// (issue 26).</item>
/// </list>
/// Runs after access control set the caller; an unscoped caller that names no environment costs nothing.
/// </summary>
public sealed class FlagScopeMiddleware(RequestDelegate next, FlagReader flags)
{
    public const string RouteValue = "idOrName";

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.Request.RouteValues.TryGetValue(RouteValue, out var value) && value is string idOrName)
        {
            var requested = http.RequestedEnvironment();
            if (requested is not null)
            {
                var v = new Validator();
                FlagRules.CheckEnvironment(requested, v, FlagEnvironment.QueryParameter);
                if (!v.IsValid)
                {
                    await TypedResults.ValidationProblem(v.Errors).ExecuteAsync(http);
                    return;
                }
            }
            if (http.GetActor() is { Environment: not null } actor
                && await flags.GetAsync(idOrName, http.RequestAborted) is { } flag && !actor.Sees(requested ?? flag.TargetEnvironment))
            {
                await Problems.NotFound("Flag", idOrName).ExecuteAsync(http);
                return;
            }
        }
        await next(http);
    }
}

public static class FlagScopeMiddlewareExtensions
{
    /// <summary>After access control (it reads the caller), before the endpoints.</summary>
    public static IApplicationBuilder UseFlagScope(this IApplicationBuilder app) => app.UseMiddleware<FlagScopeMiddleware>();
}
