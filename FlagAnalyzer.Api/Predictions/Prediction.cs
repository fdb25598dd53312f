using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Predictions;

public sealed record Prediction
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    public string? ChangeId { get; init; }
    public required string RiskLevel { get; init; }
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
public sealed record PredictedImpact(double ErrorRateChange, double LatencyChange, string UserImpact,
    double[]? ErrorRateChangeInterval = null, double[]? LatencyChangeInterval = null);

public static class RiskLevels
{
    // the same four words as anomaly severities, defined once
    public const string Low = Severities.Low;
    public const string Medium = Severities.Medium;
    public const string High = Severities.High;
    public const string Critical = Severities.Critical;

    public static readonly IReadOnlyList<string> All = [Low, Medium, High, Critical];

    public static string FromScore(double score) => score switch
    {
        >= 75 => Critical,
        >= 50 => High,
        >= 25 => Medium,
        _ => Low,
    };

    public static int Rank(string level) => Severities.Rank(level);
}

public static class UserImpacts
{
    public const string None = "none";
    public const string Minimal = "minimal";
    public const string Moderate = "moderate";
    public const string Significant = "significant";
    public const string Severe = "severe";

    public static readonly IReadOnlyList<string> All = [None, Minimal, Moderate, Significant, Severe];
}

public static class PredictionSources
{
    public const string Statistical = "statistical";
    /// <summary>The kind of every model's source: <c>?source=llm</c> lists the predictions of any model.</summary>
    public const string LlmKind = "llm";
    public const string LlmPrefix = LlmKind + ":";
    public static string Llm(string model) => LlmPrefix + model;
}
