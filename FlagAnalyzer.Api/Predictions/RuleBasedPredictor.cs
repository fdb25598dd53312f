using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>
/// A plain, deterministic risk score from change type, environment and rollout size. It uses no metric
/// history, says so, and keeps its confidence low accordingly.
/// </summary>
public sealed class RuleBasedPredictor : IImpactPredictor
{
    public Assessment Predict(PredictionInput input)
    {
        var change = input.Change.ChangeType;
        var after = input.After;
        var exposure = after.Enabled ? after.RolloutPercentage / 100.0 : 0;
        var before = input.Before is { Enabled: true } b ? b.RolloutPercentage / 100.0 : 0;
        var step = Math.Max(0, exposure - before);

        double typeBase = change switch
        {
            ChangeTypes.Enabled => 30,
            ChangeTypes.RolloutChanged => 20,
            ChangeTypes.Updated => 10,
            ChangeTypes.Disabled => 10,
            _ => 5,
        };
        var envWeight = after.TargetEnvironment switch
        {
            FlagEnvironments.Production => 1.5,
            FlagEnvironments.Development => 0.5,
            _ => 1.0,
        };
        var score = Math.Clamp((typeBase + 40 * step) * envWeight, 0, 100);

        var recommendations = new List<string>();
        if (step > 0.25) recommendations.Add($"Raise exposure in smaller steps: this change adds {step * 100:0}% of traffic at once.");
        if (after.TargetEnvironment == FlagEnvironments.Production) recommendations.Add("Watch error rate and latency closely for the next hour.");
        if (recommendations.Count == 0) recommendations.Add("No special precautions: low exposure and a low-risk environment.");

        return new Assessment(
            score,
            new PredictedImpact(0, 0, score >= 50 ? UserImpacts.Moderate : UserImpacts.Minimal),
            recommendations,
            0.3,
            $"{change} in {after.TargetEnvironment}, exposure {before * 100:0}% → {exposure * 100:0}%. No metric history was used.",
            new JsonObject
            {
                ["changeType"] = change,
                ["environmentWeight"] = envWeight,
                ["exposureBefore"] = before * 100,
                ["exposureAfter"] = exposure * 100,
                ["samplesUsed"] = 0,
            });
    }
}
