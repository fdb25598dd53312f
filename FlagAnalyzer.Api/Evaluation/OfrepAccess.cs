using System.Security.Claims;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>Who may evaluate what: every flag, the flags of one environment, or nothing (401/403, no body).</summary>
public readonly record struct OfrepScope(int? DeniedStatus, string? Environment)
{
    public static readonly OfrepScope All = new(null, null);
    public bool Sees(CompiledFlag f) => Environment is null || string.Equals(f.Environment, Environment, StringComparison.Ordinal);
}

/// <summary>
/// The one seam between OFREP and access control: it turns the request's principal into a scope. Access control
/// (API keys, roles) authenticates the request and sets <see cref="HttpContext.User"/>; this only reads it.
/// </summary>
public interface IOfrepAccess
{
    OfrepScope ScopeOf(HttpContext http);
}

/// <summary>
/// Reads the scope from claims: role <c>sdk</c> with claim <c>fa:environment</c> → that environment's flags;
/// roles admin and editor → every flag; any other authenticated role → 403; no authenticated principal (no
/// access control configured) → every flag.
/// </summary>
public sealed class ClaimsOfrepAccess : IOfrepAccess
{
    public const string EnvironmentClaim = "fa:environment";

    public OfrepScope ScopeOf(HttpContext http)
    {
        var user = http.User;
        if (user.Identity?.IsAuthenticated != true) return OfrepScope.All;
        if (user.IsInRole("admin") || user.IsInRole("editor")) return OfrepScope.All;
        if (user.IsInRole("sdk"))
            return user.FindFirstValue(EnvironmentClaim) is { Length: > 0 } env ? new OfrepScope(null, env) : OfrepScope.All;
        return new OfrepScope(StatusCodes.Status403Forbidden, null);
    }
}
