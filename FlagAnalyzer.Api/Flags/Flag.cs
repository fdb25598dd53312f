using System.Text.Json;

namespace FlagAnalyzer.Api.Flags;

public sealed record Flag
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public bool Enabled { get; init; }
    public double RolloutPercentage { get; init; }
    public string TargetEnvironment { get; init; } = FlagEnvironments.Development;
    public string Owner { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Opt-in guardrail: a confirmed high/critical regression during a rollout rolls the flag back.</summary>
    public bool AutoRollback { get; init; }
    /// <summary>Reserved for multivariate flags; stored and returned as given.</summary>
    public JsonElement? Variants { get; init; }
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
