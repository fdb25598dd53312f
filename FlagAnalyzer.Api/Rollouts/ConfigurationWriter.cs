using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// The one way Rollouts writes a flag's configuration in an environment (a plan's stage, a rollback, a schedule),
/// issue 26. Today's writer (<see cref="FlagService.MutateAsync"/>) changes the home configuration only, so another
/// environment is refused up front (<see cref="Supports"/>: plans and schedules answer 400 on <c>environment</c>) rather
/// than written to the wrong one. When Flags can write one environment's configuration, this body is the only place that
/// changes: every caller already passes the environment.
/// </summary>
public static class ConfigurationWriter
{
    public const string NotYetSupported =
        "rollout plans and schedules are not yet supported outside the flag's home environment (its targetEnvironment)";

    /// <summary>Whether Rollouts can write <paramref name="flag"/>'s configuration in <paramref name="environment"/>.</summary>
    public static bool Supports(Flag flag, string environment) => environment == flag.TargetEnvironment;

    /// <summary>Writes <paramref name="request"/> to the configuration of <paramref name="environment"/>, in the caller's transaction.</summary>
    public static Task<FlagMutation?> WriteAsync(FlagService flags, WriteScope s, string environment, FlagMutationRequest request, CancellationToken ct) =>
        Supports(request.Before, environment)
            ? flags.MutateAsync(s, request, ct)
            : throw new NotSupportedException($"Flag {request.Before.Id}: {NotYetSupported}; asked to write '{environment}'.");
}
