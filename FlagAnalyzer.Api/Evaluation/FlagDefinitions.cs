using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>The evaluation view of a stored flag.</summary>
public static class FlagDefinitions
{
    public static FlagDefinition From(Flag f) => new()
    {
        Key = f.Key is { Length: > 0 } key ? key : f.Name,
        FlagId = f.Id,
        Version = f.Version,
        Enabled = f.Enabled,
        Variants = f.Variants,
        DefaultVariant = f.DefaultVariant,
        OffVariant = f.OffVariant,
        RolloutPercentage = f.RolloutPercentage,
        Targeting = f.Targeting,
        Environment = f.TargetEnvironment,
        DefinitionVersion = f.Version,
    };

    /// <summary>
    /// The evaluation view of the flag in <paramref name="c"/>'s environment (issue 26): the flag's definition with that
    /// environment's configuration and version.
    /// </summary>
    public static FlagDefinition From(Flag f, FlagConfiguration c) => From(FlagConfigurations.View(f, c)) with { Version = c.Version, DefinitionVersion = f.Version };
}

/// <summary>The flag service's pre-write check: a flag is saved only if it compiles.</summary>
internal sealed class CompilesCheck : IFlagDefinitionCheck
{
    public IReadOnlyList<(string Path, string Message)> Check(Flag flag) =>
        FlagCompiler.TryCompile(FlagDefinitions.From(flag), out _, out var errors) ? [] : errors.Select(e => (e.Path, e.Message)).ToList();
}
