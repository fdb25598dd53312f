using FlagAnalyzer.Api.Flags;
using System.Text.Json;
using FlagAnalyzer.Api.Predictions;

namespace FlagAnalyzer.Api.Llm;

/// <summary>
/// The model's prediction, read from its JSON answer (schema: <c>Prompts.PredictionSchema</c>). Pure: text in,
/// verdict or reason out. Numbers outside their range are clamped (and named in <see cref="Clamped"/>); a missing
/// or mistyped field, an unknown userImpact or no reasoning rejects the whole answer.
/// </summary>
public sealed record LlmAssessment(
    double RiskScore,
    PredictedImpact PredictedImpact,
    IReadOnlyList<string> Recommendations,
    double Confidence,
    string Reasoning,
    IReadOnlyList<string> Clamped)
{
    public const double MinPercentChange = -100;
    public const double MaxPercentChange = 1_000;
    public const int MaxRecommendations = 5;
    public const int MaxRecommendationLength = 300;
    public const int MaxReasoningLength = 2_000;

    /// <summary>The level always follows the (clamped) score, whatever level the model named.</summary>
    public RiskLevel RiskLevel => RiskLevels.FromScore(RiskScore);

    public static bool TryParse(string? text, out LlmAssessment? result, out string error)
    {
        result = null;
        var json = StripFence(text);
        if (json.Length == 0) return Fail("the answer was empty", out error);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return Fail($"the answer is not JSON ({ex.Message})", out error);
        }
        if (root.ValueKind != JsonValueKind.Object) return Fail("the answer is not a JSON object", out error);

        var clamped = new List<string>();
        if (!Number(root, "riskScore", out var score)) return Fail("riskScore is missing or not a number", out error);
        if (!Number(root, "confidence", out var confidence)) return Fail("confidence is missing or not a number", out error);
        if (!root.TryGetProperty("predictedImpact", out var impact) || impact.ValueKind != JsonValueKind.Object)
            return Fail("predictedImpact is missing or not an object", out error);
        if (!Number(impact, "errorRateChange", out var errorChange)) return Fail("predictedImpact.errorRateChange is missing or not a number", out error);
        if (!Number(impact, "latencyChange", out var latencyChange)) return Fail("predictedImpact.latencyChange is missing or not a number", out error);
        var userImpact = impact.TryGetProperty("userImpact", out var ui) && ui.ValueKind == JsonValueKind.String ? ui.GetString()!.Trim().ToLowerInvariant() : null;
        if (!UserImpacts.TryParse(userImpact, out var impactWord))
            return Fail($"predictedImpact.userImpact must be one of {string.Join(", ", UserImpacts.AllWords)}", out error);
        var reasoning = root.TryGetProperty("reasoning", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()!.Trim() : "";
        if (reasoning.Length == 0) return Fail("reasoning is missing or empty", out error);

        var recommendations = new List<string>();
        if (root.TryGetProperty("recommendations", out var recs))
        {
            if (recs.ValueKind != JsonValueKind.Array) return Fail("recommendations is not an array", out error);
            foreach (var item in recs.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) return Fail("recommendations must be strings", out error);
                if (item.GetString()!.Trim() is { Length: > 0 } rec) recommendations.Add(Truncate(rec, MaxRecommendationLength));
            }
        }
        if (recommendations.Count > MaxRecommendations)
        {
            recommendations = recommendations.Take(MaxRecommendations).ToList();
            clamped.Add("recommendations");
        }

        result = new LlmAssessment(
            Math.Round(Clamp(score, 0, 100, "riskScore", clamped), 1),
            new PredictedImpact(
                Math.Round(Clamp(errorChange, MinPercentChange, MaxPercentChange, "predictedImpact.errorRateChange", clamped), 2),
                Math.Round(Clamp(latencyChange, MinPercentChange, MaxPercentChange, "predictedImpact.latencyChange", clamped), 2),
                impactWord),
            recommendations,
            Math.Round(Clamp(confidence, 0, 1, "confidence", clamped), 3),
            Truncate(reasoning, MaxReasoningLength),
            clamped);
        error = "";
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = reason;
        return false;
    }

    private static bool Number(JsonElement obj, string name, out double value)
    {
        value = 0;
        return obj.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out value) && double.IsFinite(value);
    }

    private static double Clamp(double v, double min, double max, string field, List<string> clamped)
    {
        if (v >= min && v <= max) return v;
        clamped.Add(field);
        return Math.Clamp(v, min, max);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    /// <summary>Models sometimes wrap JSON in a Markdown fence even when asked for JSON only.</summary>
    private static string StripFence(string? text)
    {
        var t = (text ?? "").Trim();
        if (!t.StartsWith("```", StringComparison.Ordinal)) return t;
        var firstLine = t.IndexOf('\n');
        var lastFence = t.LastIndexOf("```", StringComparison.Ordinal);
        return firstLine > 0 && lastFence > firstLine ? t[(firstLine + 1)..lastFence].Trim() : t;
    }
}
