namespace FlagAnalyzer.Api.Common;

/// <summary>
/// THE environment rule (issue 23): an actor scoped to an environment sees and acts on only the flags whose
/// STORED environment is that one, and everything hanging off them (changes, samples, exposures, anomalies,
/// predictions, plans, schedules, live events). A flag outside the scope does not exist for it (404, left out of
/// lists); creating, importing or moving a flag into another environment is 403. The request's body never widens
/// the scope: only the flag as stored counts. Unscoped actors (and the server itself) see every environment.
/// <para>
/// Everything goes through <see cref="Actor.CanAccessEnvironment"/>, asked in one of three ways: a flag looked up by
/// id or name (<see cref="SeesAsync"/>, <see cref="ResolveForAsync"/>; the <c>{idOrName}</c> routes are checked by
/// one middleware, Flags/FlagScopeMiddleware), a list narrowed to <see cref="ListEnvironment"/> in its store's
/// query, and a flag about to be stored in an environment (<see cref="MayStoreIn"/>).
/// </para>
/// </summary>
public static class FlagScope
{
    /// <summary>Whether <paramref name="actor"/> may see a flag stored in <paramref name="environment"/> (no actor: the server, every flag).</summary>
    public static bool Sees(this Actor? actor, string environment) => actor?.CanAccessEnvironment(environment) ?? true;

    /// <summary>Whether <paramref name="actor"/> may put a flag into <paramref name="environment"/> (create, import, move).</summary>
    public static bool MayStoreIn(this Actor? actor, string environment) => actor.Sees(environment);

    /// <summary>The environment every list this actor reads is narrowed to; null = no narrowing.</summary>
    public static string? ListEnvironment(this Actor? actor) => actor?.Environment;

    /// <summary>Whether the flag of this id or name exists for <paramref name="actor"/>; an unscoped actor costs no lookup.</summary>
    public static async Task<bool> SeesAsync(this IFlagIds flags, Actor? actor, string flagIdOrName, CancellationToken ct) =>
        actor?.Environment is null || await flags.FindAsync(flagIdOrName, ct) is { } f && actor.Sees(f.Environment);

    /// <summary>The flag's id when it exists for <paramref name="actor"/>, else null (as if there were no such flag).</summary>
    public static async Task<string?> ResolveForAsync(this IFlagIds flags, Actor? actor, string idOrName, CancellationToken ct) =>
        await flags.FindAsync(idOrName, ct) is { } f && actor.Sees(f.Environment) ? f.Id : null;

    /// <summary>The answer when a flag is about to be stored where the actor may not reach.</summary>
    public static string ForbiddenDetail(Actor? actor, string environment) =>
        $"This key is scoped to the environment '{actor?.Environment}'; it may not put a flag into '{environment}'.";
}
