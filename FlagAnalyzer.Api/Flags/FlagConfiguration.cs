using System.Text.Json;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// A flag's configuration in one environment (issue 26): what evaluation serves there. A flag has one definition
/// (<see cref="Flag"/>: key, name, description, owner, tags, variants) and one of these per environment; the
/// seed-shaped <see cref="Flag"/> shows its home environment's (<see cref="Flag.TargetEnvironment"/>) configuration.
/// Each configuration has its own <see cref="Version"/> (If-Match on the environment routes).
/// </summary>
public sealed record FlagConfiguration
{
    public required string Environment { get; init; }
    public bool Enabled { get; init; }
    public double RolloutPercentage { get; init; }
    /// <summary>flagd JSONLogic targeting, or null.</summary>
    public JsonElement? Targeting { get; init; }
    public string DefaultVariant { get; init; } = FlagVariants.On;
    public string OffVariant { get; init; } = FlagVariants.Off;
    public bool AutoRollback { get; init; }
    public long Version { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    public string ETag => $"\"{Version}\"";
}
