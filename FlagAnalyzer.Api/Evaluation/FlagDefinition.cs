using System.Text.Json;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// What evaluation needs of a flag, as stored: variants, default/off variant, rollout and targeting. Absent
/// fields take the defaults of a plain on/off flag.
/// </summary>
public sealed record FlagDefinition
{
    public required string Key { get; init; }
    public bool Enabled { get; init; }
    public JsonElement? Variants { get; init; }
    public string? DefaultVariant { get; init; }
    public string? OffVariant { get; init; }
    public double RolloutPercentage { get; init; } = 100;
    public JsonElement? Targeting { get; init; }
    public string Environment { get; init; } = "development";
    public string? FlagId { get; init; }
    public long Version { get; init; }
    /// <summary>
    /// The version of the flag's definition (variants, key) this was built from: with <see cref="Version"/> (the
    /// configuration's) it says what an environment serves, since a definition change moves no other environment's version.
    /// </summary>
    public long DefinitionVersion { get; init; }
    /// <summary>flagd's <c>$evaluators</c>, for <c>$ref</c> in targeting (import only; stored flags are expanded).</summary>
    public IReadOnlyDictionary<string, JsonElement>? Evaluators { get; init; }
}

public static class FlagDefaults
{
    public const string DefaultVariant = Flags.FlagVariants.On;
    public const string OffVariant = Flags.FlagVariants.Off;
    public static readonly JsonElement Variants = Flags.FlagVariants.Default;

    /// <summary>Targeting that decides nothing: JSON null, or flagd's empty object.</summary>
    public static bool IsEmptyTargeting(JsonElement? t) =>
        t is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined
        || (e.ValueKind == JsonValueKind.Object && !e.EnumerateObject().Any());
}
