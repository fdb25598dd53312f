namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Who is acting: the API key that authenticated the request (<see cref="KeyId"/>, its <see cref="Name"/>
/// and role), recorded on every audited row as <c>actorKeyId</c> / <c>actorName</c>. A body's
/// <c>changedBy</c> is only "on behalf of"; this is who really called.
/// </summary>
/// <param name="KeyId">The key's id; null when no key acted (authentication disabled, or the server itself).</param>
/// <param name="Role">admin, editor, viewer, sdk or ingest (lower case, as on the wire).</param>
public sealed record Actor(string? KeyId, string Name, string Role)
{
    /// <summary>The environment the key is scoped to; null = every environment.</summary>
    public string? Environment { get; init; }

    /// <summary>The caller when <c>Auth:Mode=disabled</c>: anyone, with every right.</summary>
    public static readonly Actor Unauthenticated = new(null, "anonymous (authentication disabled)", "admin");

    /// <summary>The server acting on its own (the guardian, background passes).</summary>
    public static Actor System(string name) => new(null, name, "system");

    /// <summary>Whether this actor may see or touch a resource of <paramref name="environment"/>.</summary>
    public bool CanAccessEnvironment(string? environment) =>
        Environment is null || string.Equals(Environment, environment, StringComparison.Ordinal);
}

public static class ActorHttpExtensions
{
    private static readonly object Key = new();

    /// <summary>The caller of this request, as authenticated; null when the endpoint is open and no key was sent.</summary>
    public static Actor? GetActor(this HttpContext http) => http.Items.TryGetValue(Key, out var a) ? a as Actor : null;

    /// <summary>The caller, or a named anonymous actor for open endpoints (never null, for audit columns).</summary>
    public static Actor GetActorOrAnonymous(this HttpContext http) => http.GetActor() ?? new Actor(null, "anonymous", "none");

    public static void SetActor(this HttpContext http, Actor actor) => http.Items[Key] = actor;
}
