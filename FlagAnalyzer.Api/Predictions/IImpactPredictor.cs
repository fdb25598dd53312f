using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>Everything a predictor may use; loaded once per change, inside the change's transaction.</summary>
public sealed record PredictionInput(
    Flag? Before,
    Flag After,
    FlagChange Change,
    IReadOnlyList<MetricSample> History,
    IReadOnlyList<FlagChange> RecentChanges,
    IReadOnlyList<Anomaly> ActiveAnomalies,
    DateTimeOffset Now);

/// <summary>A predictor's verdict; the service adds ids, times and the source.</summary>
public sealed record Assessment(
    double RiskScore,
    PredictedImpact PredictedImpact,
    IReadOnlyList<string> Recommendations,
    double Confidence,
    string Reasoning,
    JsonObject Evidence)
{
    public RiskLevel RiskLevel => RiskLevels.FromScore(RiskScore);
}

/// <summary>Pure and deterministic: data in, assessment out, no I/O.</summary>
public interface IImpactPredictor
{
    Assessment Predict(PredictionInput input);
}

/// <summary>Work handed on after a statistical prediction is committed (the LLM refines it off the request path).</summary>
public interface IPredictionRefiner
{
    void Enqueue(Prediction prediction, PredictionInput input);
}
