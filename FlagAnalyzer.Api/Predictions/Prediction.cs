using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Predictions;

public sealed record Prediction
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
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

/// <summary>The wire words of <see cref="RiskLevel"/>, and the level of a score.</summary>
public static class RiskLevels
{
    public static IReadOnlyList<RiskLevel> All => WireNames<RiskLevel>.All;
    public static bool TryParse(string? text, out RiskLevel level) => WireNames<RiskLevel>.TryParse(text, out level);

    /// <summary>Low 0 … critical 3, as <see cref="Severities.Rank"/>: the two sets share their words and their order.</summary>
    public static int Rank(this RiskLevel level) => (int)level;

    public static RiskLevel FromScore(double score) => score switch
    {
        >= 75 => RiskLevel.Critical,
        >= 50 => RiskLevel.High,
        >= 25 => RiskLevel.Medium,
        _ => RiskLevel.Low,
    };
}

/// <summary>The wire words of <see cref="UserImpact"/>.</summary>
public static class UserImpacts
{
    public static IReadOnlyList<UserImpact> All => WireNames<UserImpact>.All;
    public static IReadOnlyList<string> AllWords => WireNames<UserImpact>.AllWords;
    public static bool TryParse(string? text, out UserImpact impact) => WireNames<UserImpact>.TryParse(text, out impact);
}

public static class PredictionSources
{
    public const string Statistical = "statistical";
    /// <summary>The kind of every model's source: <c>?source=llm</c> lists the predictions of any model.</summary>
    public const string LlmKind = "llm";
    public const string LlmPrefix = LlmKind + ":";
    public static string Llm(string model) => LlmPrefix + model;
}
