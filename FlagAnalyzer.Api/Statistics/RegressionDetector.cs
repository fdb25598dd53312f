using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using static FlagAnalyzer.Api.Statistics.DetectionRules;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>How one metric compares between the baseline and the current window.</summary>
public sealed record MetricFinding
{
    public required string Metric { get; init; }
    /// <summary>The anomaly type this metric raises (<c>error_spike</c>, <c>latency_spike</c>, …).</summary>
    public required AnomalyType Type { get; init; }
    /// <summary><c>regression</c>, <c>within_threshold</c>, <c>not_significant</c> or <c>insufficient_data</c>.</summary>
    public required Verdict Verdict { get; init; }
    /// <summary>Error and conversion rates in percent, latencies in ms, satisfaction on 0–5.</summary>
    public double? BaselineValue { get; init; }
    public double? ObservedValue { get; init; }
    public double? ChangePercent { get; init; }
    /// <summary>The newest samples' value, used to tell an ongoing regression from a recovered one.</summary>
    public double? RecentValue { get; init; }
    public bool ThresholdCrossed { get; init; }
    public bool Significant { get; init; }
    /// <summary>Always-valid p-value of the sequential test (safe under continuous monitoring).</summary>
    public double SequentialPValue { get; init; } = 1;
    /// <summary>Fixed-horizon p-value: two-proportion z (rates) or Welch t (means).</summary>
    public double? TestPValue { get; init; }
    /// <summary>Mann-Whitney U p-value (latencies and satisfaction); computed only once the threshold is crossed.</summary>
    public double? RankPValue { get; init; }
    /// <summary>The largest of the p-values a regression must pass; confidence = 1 − this.</summary>
    public double PValue { get; init; } = 1;
    public double Confidence => Math.Round(1 - PValue, 6);
    public Severity? Severity { get; init; }
    public string Note { get; init; } = "";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsRegression => Verdict == Verdict.Regression;
}

/// <summary>What the detector concluded about one metric.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    [JsonStringEnumMemberName("regression")] Regression,
    [JsonStringEnumMemberName("within_threshold")] WithinThreshold,
    [JsonStringEnumMemberName("not_significant")] NotSignificant,
    [JsonStringEnumMemberName("insufficient_data")] InsufficientData,
}

/// <summary>Which comparison an analysis made.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AnalysisMode>))]
public enum AnalysisMode
{
    /// <summary>Baseline = samples before the latest change; current = samples after it.</summary>
    [JsonStringEnumMemberName("before_after")] BeforeAfter,
    /// <summary>Baseline = the <c>control</c> cohort after the change; current = the <c>treatment</c> cohort.</summary>
    [JsonStringEnumMemberName("cohorts")] Cohorts,
    /// <summary>No baseline yet (no change with samples before it, no control cohort).</summary>
    [JsonStringEnumMemberName("none")] None,
}

/// <summary>The wire words of <see cref="Verdict"/>.</summary>
public static class Verdicts
{
    public static bool TryParse(string? text, out Verdict verdict) => WireNames<Verdict>.TryParse(text, out verdict);
}

/// <summary>The wire words of <see cref="AnalysisMode"/>.</summary>
public static class AnalysisModes
{
    public static bool TryParse(string? text, out AnalysisMode mode) => WireNames<AnalysisMode>.TryParse(text, out mode);
}

public sealed record WindowSummary(int Samples, double Requests);

public sealed record SrmCheck(double TreatmentRequests, double ControlRequests, double ExpectedTreatmentShare, double ChiSquared, double PValue, bool Mismatch);

/// <summary>One comparison with control: of a named variant, or (null) of the treatment as a whole.</summary>
public sealed record VariantAnalysis(string? Variant, FlagAnalysis Analysis);

/// <summary>The flag's treatment as a whole against its baseline, and each variant's comparison with control.</summary>
public sealed record VariantAnalyses(FlagAnalysis Overall, IReadOnlyList<VariantAnalysis> PerVariant);

/// <summary>The result of analysing one flag: which comparison was made and what each metric showed.</summary>
public sealed record FlagAnalysis(AnalysisMode Mode, WindowSummary Baseline, WindowSummary Current, SrmCheck? Srm, IReadOnlyList<MetricFinding> Findings)
{
    public IEnumerable<MetricFinding> Regressions => Findings.Where(f => f.IsRegression);
}

/// <summary>
/// Decides, per metric, whether the current window regressed against the baseline: the seed's threshold must
/// be crossed AND the evidence must be significant — the one-sided sequential test (always valid under
/// continuous monitoring) and a fixed-horizon test (two-proportion z; Welch and Mann-Whitney for means) —
/// with a minimum-sample gate in front. Pure: data in, findings out.
/// </summary>
public static class RegressionDetector
{
    /// <param name="rolloutPercentage">The flag's exposure, for the sample-ratio check in cohort mode; null skips it.</param>
    public static FlagAnalysis Analyze(FlagWindow w, double? rolloutPercentage = null)
    {
        var cohorts = w.Control.Samples >= MinBaselineSamples && w.Treatment.Samples > 0;
        var baseline = cohorts ? w.Control : w.Before;
        var current = w.Treatment;
        var mode = cohorts ? AnalysisMode.Cohorts : baseline.Samples > 0 ? AnalysisMode.BeforeAfter : AnalysisMode.None;

        SrmCheck? srm = null;
        if (cohorts && rolloutPercentage is > 0 and < 100 and var r)
        {
            var share = r / 100;
            var t = SampleRatioMismatch.Run([current.Requests, baseline.Requests], [share, 1 - share]);
            srm = new SrmCheck(current.Requests, baseline.Requests, share, t.Statistic, t.PValue, t.PValue < SrmAlpha);
        }

        return Compare(mode, baseline, current, w.Recent, srm);
    }

    /// <summary>
    /// Each served variant against control: when the flag has a control cohort and every treatment sample names its
    /// variant, one analysis per variant (the sample-ratio check is the treatment's as a whole); otherwise the one
    /// analysis of <see cref="Analyze"/> — named after the variant when the treatment is a single named variant.
    /// </summary>
    public static VariantAnalyses AnalyzeVariants(FlagWindow w, double? rolloutPercentage = null)
    {
        var overall = Analyze(w, rolloutPercentage);
        var named = w.Variants.Values.Sum(v => v.Stats.Samples);
        if (overall.Mode != AnalysisMode.Cohorts || w.Variants.Count == 0 || named != w.Treatment.Samples)
            return new VariantAnalyses(overall, [new VariantAnalysis(null, overall)]);
        if (w.Variants.Count == 1) return new VariantAnalyses(overall, [new VariantAnalysis(w.Variants.Keys.Single(), overall)]);
        return new VariantAnalyses(overall, w.Variants
            .Select(v => new VariantAnalysis(v.Key, Compare(AnalysisMode.Cohorts, w.Control, v.Value.Stats, v.Value.Recent, overall.Srm)))
            .ToList());
    }

    private static FlagAnalysis Compare(AnalysisMode mode, WindowStats baseline, WindowStats current, IEnumerable<MetricSample> newest, SrmCheck? srm)
    {
        var recent = RecentSamples(newest);
        var findings = new List<MetricFinding>
        {
            Proportion(MetricNames.ErrorRate, baseline.Errors, baseline.Requests, current.Errors, current.Requests,
                baseline.ErrorDispersion, baseline.Samples, recent.ErrorRate, Tail.Greater, ErrorIncrease),
            Means(MetricNames.LatencyP50, baseline.P50, current.P50, recent.P50, Tail.Greater, LatencyIncrease),
            Means(MetricNames.LatencyP99, baseline.P99, current.P99, recent.P99, Tail.Greater, LatencyIncrease),
            Proportion(MetricNames.ConversionRate, baseline.Conversions, baseline.ConversionRequests, current.Conversions,
                current.ConversionRequests, baseline.ConversionDispersion, baseline.Samples, recent.ConversionRate, Tail.Less, ConversionDrop),
            Means(MetricNames.UserSatisfaction, baseline.Satisfaction, current.Satisfaction, recent.Satisfaction, Tail.Less, SatisfactionDrop),
        };
        if (srm is { Mismatch: true })
            findings = findings.Select(f => f with { Note = (f.Note + " Cohort sizes do not match the rollout (sample-ratio mismatch): treat with care.").Trim() }).ToList();
        return new FlagAnalysis(mode, new WindowSummary(baseline.Samples, baseline.Requests), new WindowSummary(current.Samples, current.Requests), srm, findings);
    }

    private static MetricFinding Proportion(string metric, double baseEvents, double baseTrials, double curEvents, double curTrials,
        double dispersion, int baseSamples, double? recent, Tail tail, double threshold)
    {
        var f = new MetricFinding { Metric = metric, Type = AnomalyTypeOf(metric), Verdict = Verdict.InsufficientData, RecentValue = Pct(recent) };
        if (baseTrials <= 0 || curTrials <= 0) return f with { Note = "No samples on one side." };
        double pB = baseEvents / baseTrials, pC = curEvents / curTrials;
        f = f with { BaselineValue = pB * 100, ObservedValue = pC * 100, ChangePercent = pB > 0 ? (pC - pB) / pB * 100 : null };
        if (baseSamples < MinBaselineSamples || baseTrials < MinBaselineRequests || curTrials < MinCurrentRequests
            || baseEvents + curEvents < MinEvents && tail == Tail.Greater || baseEvents < MinEvents && tail == Tail.Less)
            return f with
            {
                Note = $"Needs ≥ {MinBaselineSamples} baseline samples, ≥ {MinBaselineRequests:0} baseline and ≥ {MinCurrentRequests:0} current requests, ≥ {MinEvents:0} events.",
            };

        var crossed = tail == Tail.Greater ? pC >= pB * (1 + threshold) && pC > pB : pC <= pB * (1 - threshold);
        // quasi-binomial: widen by the baseline's extra-binomial spread
        var z = TwoProportionTest.Run(baseEvents, baseTrials, curEvents, curTrials, tail);
        var zAdjusted = z.Statistic / Math.Sqrt(dispersion);
        var zP = Tails.FromNormal(zAdjusted, tail);
        var pooled = (baseEvents + curEvents) / (baseTrials + curTrials);
        var variance = dispersion * pooled * (1 - pooled) * (1 / baseTrials + 1 / curTrials);
        // the mixing scale is the smallest effect the rule cares about, with a floor of 0.1 percentage point
        var tau = threshold * Math.Max(pB, 0.001);
        var seq = SequentialTest.Run(pC - pB, variance, tau * tau, tail);
        return Judge(f, crossed, seq.PValue, zP, null);
    }

    private static MetricFinding Means(string metric, SortedMoments b, SortedMoments c, double? recent, Tail tail, double threshold)
    {
        var f = new MetricFinding { Metric = metric, Type = AnomalyTypeOf(metric), Verdict = Verdict.InsufficientData, RecentValue = recent };
        if (b.Count == 0 || c.Count == 0) return f with { Note = "No samples on one side." };
        double mB = b.Mean, mC = c.Mean;
        f = f with { BaselineValue = mB, ObservedValue = mC, ChangePercent = mB > 0 ? (mC - mB) / mB * 100 : null };
        if (b.Count < Math.Max(MinBaselineSamples, 5) || c.Count < MinCurrentSamplesForMeans)
            return f with { Note = $"Needs ≥ 5 baseline and ≥ {MinCurrentSamplesForMeans} current samples." };

        var crossed = tail == Tail.Greater ? mC >= mB * (1 + threshold) && mC > mB : mC <= mB * (1 - threshold);
        var welch = WelchTest.Run(mB, b.Variance, b.Count, mC, c.Variance, c.Count, tail);
        var variance = b.Variance / b.Count + c.Variance / c.Count;
        var tau = threshold * Math.Abs(mB);
        var seq = SequentialTest.Run(mC - mB, variance, tau * tau, tail);
        // the rank test is O(n + m) over the whole window; it can only matter once the threshold is crossed
        double? rankP = crossed ? MannWhitneyU.RunSorted(b.Sorted, c.Sorted, tail).PValue : null;
        return Judge(f, crossed, seq.PValue, welch.PValue, rankP);
    }

    private static MetricFinding Judge(MetricFinding f, bool crossed, double seqP, double testP, double? rankP)
    {
        var p = Math.Max(seqP, Math.Max(testP, rankP ?? 0));
        var significant = p < Alpha;
        var verdict = !crossed ? Verdict.WithinThreshold : significant ? Verdict.Regression : Verdict.NotSignificant;
        return f with
        {
            ThresholdCrossed = crossed,
            Significant = significant,
            SequentialPValue = seqP,
            TestPValue = testP,
            RankPValue = rankP,
            PValue = p,
            Verdict = verdict,
            Severity = verdict == Verdict.Regression ? SeverityOf(f.Metric, f.BaselineValue!.Value, f.ObservedValue!.Value) : null,
        };
    }

    private static double? Pct(double? fraction) => fraction * 100;

    private sealed record Recent(double? ErrorRate, double? ConversionRate, double? P50, double? P99, double? Satisfaction);

    /// <summary>The newest treatment samples: at least <see cref="MinRecentSamples"/> and <see cref="MinRecentRequests"/> requests.</summary>
    private static Recent RecentSamples(IEnumerable<MetricSample> samples)
    {
        var newest = samples.Reverse().ToList();
        var take = 0;
        double requests = 0;
        while (take < newest.Count && (take < MinRecentSamples || requests < MinRecentRequests)) requests += newest[take++].RequestCount;
        if (take < MinRecentSamples || requests < MinRecentRequests) return new Recent(null, null, null, null, null);
        var window = newest.Take(take).ToList();
        var withConversion = window.Where(s => s.ConversionRate is not null).ToList();
        var withSatisfaction = window.Where(s => s.UserSatisfactionScore is not null).ToList();
        return new Recent(
            window.Sum(s => s.ErrorRate / 100 * s.RequestCount) / requests,
            withConversion.Count > 0 ? withConversion.Sum(s => s.ConversionRate!.Value / 100 * s.RequestCount) / withConversion.Sum(s => (double)s.RequestCount) : null,
            window.Average(s => s.LatencyP50),
            window.Average(s => s.LatencyP99),
            withSatisfaction.Count > 0 ? withSatisfaction.Average(s => s.UserSatisfactionScore!.Value) : null);
    }
}
