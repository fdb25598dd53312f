using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// A change's predicted impact, as the API and live events show it. Declared in Flags, which returns it with the change
/// (<see cref="ChangeResponse"/>); Predictions fills it and owns the <c>predictions</c> table.
/// </summary>
public sealed record Prediction
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    /// <summary>The environment of the change predicted (issue 26).</summary>
    public string Environment { get; init; } = "";
    public string? ChangeId { get; init; }
    public required RiskLevel RiskLevel { get; init; }
    public double RiskScore { get; init; }
    public required PredictedImpact PredictedImpact { get; init; }
    public IReadOnlyList<string> Recommendations { get; init; } = [];
    public double Confidence { get; init; }
    public string Reasoning { get; init; } = "";
    /// <summary>The numbers the prediction rests on, by name.</summary>
    public JsonObject Evidence { get; init; } = [];
    /// <summary><c>statistical</c> or <c>llm:&lt;model&gt;</c>.</summary>
    public required string Source { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Expected change in percent (error rate, P50 latency) and a word for the users' experience; the intervals
/// are 95 % [low, high] in percent, null when unknown (no history, or an LLM's estimate).</summary>
public sealed record PredictedImpact(double ErrorRateChange, double LatencyChange, UserImpact UserImpact,
    double[]? ErrorRateChangeInterval = null, double[]? LatencyChangeInterval = null);

/// <summary>How risky a change is predicted to be. The same four words as <see cref="Severity"/>, declared in rank order,
/// so <c>&lt;</c> and <c>&gt;</c> compare levels.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RiskLevel>))]
public enum RiskLevel
{
    [JsonStringEnumMemberName("low")] Low,
    [JsonStringEnumMemberName("medium")] Medium,
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("critical")] Critical,
}

/// <summary>A word for what the users will notice.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UserImpact>))]
public enum UserImpact
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("minimal")] Minimal,
    [JsonStringEnumMemberName("moderate")] Moderate,
    [JsonStringEnumMemberName("significant")] Significant,
    [JsonStringEnumMemberName("severe")] Severe,
}
