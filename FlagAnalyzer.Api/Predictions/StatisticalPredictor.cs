using System.Globalization;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>
/// The statistical risk model. The score adds up, in points: what kind of change it is, how much traffic it
/// newly exposes, how volatile the flag's metrics have been, how often it changed lately — all weighted by
/// the environment (production 1.0 &gt; staging 0.6 &gt; development 0.3) — plus open anomalies; a change that
/// reduces exposure counts half. Confidence grows with the metric history behind it. Every number used is in
/// <c>evidence</c>. Pure and deterministic: the same input gives the same prediction.
/// </summary>
public sealed class StatisticalPredictor : IImpactPredictor
{
    public Assessment Predict(PredictionInput input)
    {
        var after = input.After;
        var change = input.Change.ChangeType;
        var exposureBefore = Exposure(input.Before);
        var exposureAfter = Exposure(after);
        var step = exposureAfter - exposureBefore;
        var history = MetricHistory.Summarize(input.History, input.Now);
        // the flag's creation is where its history starts, not a change to it
        var others = input.RecentChanges.Where(c => c.Id != input.Change.Id && c.ChangeType != ChangeType.Created).ToList();
        var changes24h = others.Count(c => c.Timestamp >= input.Now.AddDays(-1));
        var changes7d = others.Count;
        var anomalies = input.ActiveAnomalies;
        var environmentWeight = EnvironmentWeight(after.TargetEnvironment);

        double typePoints = change switch
        {
            ChangeType.Enabled => 30,
            ChangeType.RolloutChanged => 20,
            ChangeType.Updated => 15,
            ChangeType.Deleted => 10,
            ChangeType.Disabled => 10,
            _ => 5,
        };
        var exposurePoints = 40 * Math.Max(0, step);
        var volatilityPoints = history is null ? 5 : Math.Min(15, 20 * history.ErrorVolatility + 10 * history.LatencyP50Volatility);
        var frequencyPoints = Math.Min(10, 2.5 * changes24h);
        var anomalyPoints = Math.Min(30, anomalies.Sum(a => a.Severity switch
        {
            Severity.Critical => 20.0,
            Severity.High => 15.0,
            Severity.Medium => 8.0,
            _ => 4.0,
        }));
        var reduces = step < 0 || change is ChangeType.Disabled or ChangeType.RolledBack;
        var score = (typePoints + exposurePoints + volatilityPoints + frequencyPoints) * environmentWeight + anomalyPoints;
        if (reduces) score *= 0.5;
        // widening exposure while a high or critical regression is open on this flag is at least that risky
        var floor = reduces || step <= 0 ? 0 : anomalies.Select(a => a.Severity switch
        {
            Severity.Critical => 75.0,
            Severity.High => 50.0,
            _ => 0.0,
        }).DefaultIfEmpty(0).Max();
        score = Math.Clamp(Math.Max(score, floor), 0, 100);

        // expected change: an open regression carries over in proportion to exposure; otherwise the flag's usual
        // swing, scaled by the share of traffic this change newly exposes
        var errorAnomaly = anomalies.Where(a => a.Metric == DetectionRules.MetricNames.ErrorRate).MaxBy(a => a.ChangePercent);
        var latencyAnomaly = anomalies.Where(a => a.Metric == DetectionRules.MetricNames.LatencyP50).MaxBy(a => a.ChangePercent);
        // (see ExpectedChange for the model and its interval)
        var errorEstimate = errorAnomaly is null ? (ChangeEstimate?)null : ExpectedChange.FromRegression(errorAnomaly, exposureBefore, exposureAfter, ceiling: 100);
        var latencyEstimate = latencyAnomaly is null ? (ChangeEstimate?)null : ExpectedChange.FromRegression(latencyAnomaly, exposureBefore, exposureAfter, ceiling: null);
        var errorChange = errorEstimate?.Percent ?? (history?.ErrorVolatility ?? 0) * 100 * Math.Max(0, step);
        var latencyChange = latencyEstimate?.Percent ?? (history?.LatencyP50Volatility ?? 0) * 100 * Math.Max(0, step);
        var errorInterval = Interval(errorEstimate, history?.ErrorVolatility, step);
        var latencyInterval = Interval(latencyEstimate, history?.LatencyP50Volatility, step);
        var confidence = history is null ? 0.15 : 0.15 + 0.7 * (1 - Math.Exp(-history.Samples / 100.0));

        var recommendations = Recommend(input, history, step, exposureAfter, changes24h, reduces);
        var reasoning = Reason(input, history, exposureBefore, exposureAfter, changes24h, score);

        var evidence = new JsonObject
        {
            ["changeType"] = change.ToWire(),
            ["environment"] = after.TargetEnvironment,
            ["environmentWeight"] = environmentWeight,
            ["exposureBefore"] = Round(exposureBefore * 100),
            ["exposureAfter"] = Round(exposureAfter * 100),
            ["exposureStep"] = Round(step * 100),
            ["samplesUsed"] = history?.Samples ?? 0,
            ["historyWindow"] = history?.Window,
            ["requestsPerSample"] = history is null ? null : Round(history.RequestsPerSample),
            ["errorRate"] = history is null ? null : new JsonObject { ["mean"] = Round(history.ErrorRate), ["volatility"] = Round(history.ErrorVolatility) },
            ["latencyP50"] = history is null ? null : new JsonObject { ["mean"] = Round(history.LatencyP50), ["volatility"] = Round(history.LatencyP50Volatility) },
            ["latencyP99"] = history is null ? null : new JsonObject { ["mean"] = Round(history.LatencyP99), ["volatility"] = Round(history.LatencyP99Volatility) },
            ["changesLast24h"] = changes24h,
            ["changesLast7d"] = changes7d,
            ["autoRollback"] = after.AutoRollback,
            ["errorRateChangeInterval"] = errorInterval is { } ei ? new JsonArray(ei[0], ei[1]) : null,
            ["latencyChangeInterval"] = latencyInterval is { } li ? new JsonArray(li[0], li[1]) : null,
            ["openAnomalies"] = new JsonArray([.. anomalies.Select(a => (JsonNode)new JsonObject
            {
                ["id"] = a.Id, ["type"] = a.Type.ToWire(), ["metric"] = a.Metric, ["severity"] = a.Severity.ToWire(), ["changePercent"] = Round(a.ChangePercent),
            })]),
            ["scoreParts"] = new JsonObject
            {
                ["changeType"] = typePoints,
                ["exposure"] = Round(exposurePoints),
                ["volatility"] = Round(volatilityPoints),
                ["changeFrequency"] = Round(frequencyPoints),
                ["anomalies"] = anomalyPoints,
                ["openRegressionFloor"] = floor,
                ["reducesExposure"] = reduces,
            },
        };
        return new Assessment(score, new PredictedImpact(Round(errorChange), Round(latencyChange), ImpactOnUsers(score, exposureAfter), errorInterval, latencyInterval),
            recommendations, confidence, reasoning, evidence);
    }

    /// <summary>[low, high] in percent: the regression's interval, else the usual swing, else unknown (no history).</summary>
    private static double[]? Interval(ChangeEstimate? regression, double? volatility, double step) =>
        regression is { } r ? [Round(r.Low), Round(r.High)]
        : volatility is { } v ? ExpectedChange.UsualSwing(v, step) is var (lo, hi) ? [Round(lo), Round(hi)] : null
        : null;

    private static double Exposure(Flag? f) => f is { Enabled: true } ? Math.Clamp(f.RolloutPercentage, 0, 100) / 100 : 0;

    public static double EnvironmentWeight(string environment) => environment switch
    {
        FlagEnvironments.Production => 1.0,
        FlagEnvironments.Development => 0.3,
        _ => 0.6, // staging, and custom environments until we know better
    };

    private static UserImpact ImpactOnUsers(double score, double exposure) =>
        exposure <= 0 ? UserImpact.None
        : score >= 75 ? UserImpact.Severe
        : score >= 50 ? UserImpact.Significant
        : score >= 25 ? UserImpact.Moderate
        : UserImpact.Minimal;

    private static List<string> Recommend(PredictionInput input, HistorySummary? h, double step, double exposureAfter, int changes24h, bool reduces)
    {
        var after = input.After;
        var recs = new List<string>();
        var production = after.TargetEnvironment == FlagEnvironments.Production;
        var firstStep = production ? 5 : 10;
        foreach (var a in input.ActiveAnomalies.OrderByDescending(a => a.Severity).Take(2))
            recs.Add(F($"Resolve the open {a.Type.ToWire()} on {AnomalyReconciler.Label(a.Metric)} ({AnomalyReconciler.Format(a.Metric, a.BaselineValue)} → {AnomalyReconciler.Format(a.Metric, a.ObservedValue)}, {a.Severity.ToWire()}) before widening exposure."));
        if (reduces)
        {
            recs.Add(h is null
                ? "Exposure goes down: low risk. Keep sending metrics to confirm the flag's metrics settle."
                : F($"Exposure goes down: low risk. Confirm the error rate returns to about {h.ErrorRate:0.##}% and P50 to about {h.LatencyP50:0} ms."));
            return recs;
        }
        if (h is null)
        {
            if (exposureAfter > firstStep / 100.0)
                recs.Add(F($"Roll out to {firstStep}% first: this flag has no metric history yet, so nothing is known about how it behaves."));
            recs.Add(F($"Send metrics before and after the change (at least {DetectionRules.MinBaselineSamples} baseline samples and {DetectionRules.MinBaselineRequests:0} requests) so regressions can be detected."));
        }
        else if (step >= 0.2 && exposureAfter > firstStep / 100.0)
        {
            recs.Add(F($"Roll out to {firstStep}% first: error rate has varied ±{h.ErrorVolatility * 100:0}% and P50 latency ±{h.LatencyP50Volatility * 100:0}% over {h.Window} ({h.Samples} samples); this change exposes {step * 100:0}% more traffic at once."));
        }
        if (h is { RequestsPerSample: < 200 } low && exposureAfter > 0)
            recs.Add(F($"Traffic is low ({low.RequestsPerSample:0} requests per sample): a regression takes many samples to confirm, so hold each step until ≥ 1,000 requests have been seen after it."));
        if (h is { ErrorRate: >= 2 } noisy)
            recs.Add(F($"The baseline error rate is already {noisy.ErrorRate:0.##}%: a +50% rise (to {noisy.ErrorRate * 1.5:0.##}%) is what the detector will flag; consider fixing existing errors first."));
        if (changes24h >= 3)
            recs.Add(F($"This flag changed {changes24h} times in the last 24 h: wait for at least 5 samples after each step before the next, so each effect can be told apart."));
        if (production && !after.AutoRollback && exposureAfter > 0)
            recs.Add("Turn on autoRollback: a confirmed high or critical regression would then set exposure back to 0% without waiting for a person.");
        if (recs.Count == 0)
            recs.Add(F($"No special precautions: {after.TargetEnvironment}, exposure {exposureAfter * 100:0}%, metrics steady (error rate ±{h!.ErrorVolatility * 100:0}%)."));
        return recs;
    }

    private static string Reason(PredictionInput input, HistorySummary? h, double before, double after, int changes24h, double score)
    {
        var f = input.After;
        var head = F($"{input.Change.ChangeType.ToWire()} in {f.TargetEnvironment} (weight {EnvironmentWeight(f.TargetEnvironment):0.0}), exposure {before * 100:0}% → {after * 100:0}%");
        var data = h is null
            ? "no metric history, so this rests on the kind of change and its exposure only (low confidence)"
            : F($"{h.Samples} samples over {h.Window}: error rate {h.ErrorRate:0.##}% (±{h.ErrorVolatility * 100:0}%), P50 {h.LatencyP50:0} ms (±{h.LatencyP50Volatility * 100:0}%), P99 {h.LatencyP99:0} ms");
        var anomalies = input.ActiveAnomalies.Count == 0 ? "no open anomalies" : F($"{input.ActiveAnomalies.Count} open anomal{(input.ActiveAnomalies.Count == 1 ? "y" : "ies")}");
        return F($"{head}; {data}; {changes24h} other change(s) in the last 24 h; {anomalies}. Risk score {score:0}.");
    }

    private static double Round(double v) => Math.Round(v, 3);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
