using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Predictions;

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
