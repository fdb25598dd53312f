using System.Text.Json;

namespace FlagAnalyzer.Api.Flags;

public sealed record Flag
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>
    /// The key OpenFeature SDKs evaluate the flag by (OFREP, flagd files): case-sensitive, <c>A-Z a-z 0-9 . _ -</c>.
    /// Set at creation (default: the name) and kept across renames, so applications do not break when a flag is renamed.
    /// </summary>
    public string Key { get; init; } = "";
    public string Description { get; init; } = "";
    public bool Enabled { get; init; }
    public double RolloutPercentage { get; init; }
    public string TargetEnvironment { get; init; } = FlagEnvironments.Development;
    public string Owner { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Opt-in guardrail: a confirmed high/critical regression during a rollout rolls the flag back.</summary>
    public bool AutoRollback { get; init; }
    /// <summary>Variant name → value, all of one type (boolean, string, number or object); default <c>{"on":true,"off":false}</c>.</summary>
    public JsonElement? Variants { get; init; } = FlagVariants.Default;
    /// <summary>Served when the flag is enabled and neither targeting nor the rollout decides otherwise.</summary>
    public string DefaultVariant { get; init; } = FlagVariants.On;
    /// <summary>Served when the flag is disabled, and to the keys outside a partial rollout (the control cohort).</summary>
    public string OffVariant { get; init; } = FlagVariants.Off;
    /// <summary>flagd JSONLogic targeting, or null; validated when saved.</summary>
    public JsonElement? Targeting { get; init; }
    /// <summary>Reserved for targeting rules; stored and returned as given.</summary>
    public JsonElement? Rules { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public long Version { get; init; }

    public string ETag => $"\"{Version}\"";
}

public static class FlagEnvironments
{
    public const string Development = "development";
    public const string Staging = "staging";
    public const string Production = "production";
}

public static class FlagVariants
{
    public const string On = "on";
    public const string Off = "off";
    public static readonly JsonElement Default = JsonDocument.Parse("""{"on":true,"off":false}""").RootElement.Clone();
}
