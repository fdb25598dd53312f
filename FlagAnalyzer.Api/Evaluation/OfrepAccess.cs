using FlagAnalyzer.Api.Common;

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
/// The scope of the caller access control authenticated (<see cref="Actor"/>): admin and editor evaluate every
/// flag; an sdk key evaluates the flags of its environment only (others are FLAG_NOT_FOUND); any other role is
/// 403. No actor means access control is off for this request (<c>Auth:Mode=disabled</c>): every flag.
/// </summary>
public sealed class ActorOfrepAccess : IOfrepAccess
{
    public OfrepScope ScopeOf(HttpContext http) => http.GetActor() switch
    {
        null => OfrepScope.All,
        { Role: "admin" or "editor", Environment: null } => OfrepScope.All,
        { Role: "admin" or "editor" or "sdk", Environment: { } env } => new OfrepScope(null, env),
        { Role: "sdk" } => new OfrepScope(StatusCodes.Status403Forbidden, null), // an sdk key always has an environment
        _ => new OfrepScope(StatusCodes.Status403Forbidden, null),
    };
}
