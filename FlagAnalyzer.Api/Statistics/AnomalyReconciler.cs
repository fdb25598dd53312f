using System.Globalization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>What a detection pass should do with a flag's anomalies, decided from its analysis and the open anomalies.</summary>
public sealed record Reconciliation(
    IReadOnlyList<Anomaly> Raise,
    IReadOnlyList<Anomaly> Resolve,
    IReadOnlyList<Anomaly> Escalate,
    /// <summary>Open or new anomalies whose regression is still confirmed right now (what a guardian acts on).</summary>
    IReadOnlyList<Anomaly> Ongoing);

/// <summary>
/// Pure: one anomaly per (flag, metric) while the regression lasts; it resolves when the newest samples are back
/// near the baseline it was raised against; it escalates (severity only) when the regression deepens.
/// </summary>
public static class AnomalyReconciler
{
    /// <param name="variant">The treatment variant this analysis compares with control (null: the treatment as a whole);
    /// raised anomalies carry it, and <paramref name="open"/> should hold only that variant's.</param>
    public static Reconciliation Reconcile(string flagId, FlagAnalysis analysis, IReadOnlyList<Anomaly> open, string? changeId,
        DateTimeOffset now, Func<string> newId, string? variant = null, string? changeText = null)
    {
        List<Anomaly> raise = [], resolve = [], escalate = [], ongoing = [];
        foreach (var f in analysis.Findings)
        {
            var existing = open.FirstOrDefault(a => a.Metric == f.Metric);
            if (existing is not null)
            {
                if (f.RecentValue is { } recent && DetectionRules.Recovered(f.Metric, existing.BaselineValue, recent))
                {
                    resolve.Add(existing with
                    {
                        Status = AnomalyStatus.Resolved,
                        ResolvedAt = now,
                        Message = $"{existing.Message} Resolved: {Label(f.Metric)} back to {Format(f.Metric, recent)} (baseline {Format(f.Metric, existing.BaselineValue)}).",
                    });
                    continue;
                }
                if (!f.IsRegression) continue;
                if (f.Severity > existing.Severity)
                {
                    var deeper = existing with
                    {
                        Severity = f.Severity!.Value, ObservedValue = f.ObservedValue!.Value, ChangePercent = Round(f.ChangePercent ?? 0),
                        Confidence = f.Confidence, PValue = f.PValue,
                    };
                    escalate.Add(deeper);
                    ongoing.Add(deeper);
                }
                else ongoing.Add(existing);
                continue;
            }
            if (!f.IsRegression) continue;
            // a regression the newest samples have already recovered from is history, not an anomaly to raise now
            if (f.RecentValue is { } r && DetectionRules.Recovered(f.Metric, f.BaselineValue!.Value, r)) continue;
            var a = new Anomaly
            {
                Id = newId(),
                FlagId = flagId,
                Type = f.Type,
                Severity = f.Severity!.Value,
                Metric = f.Metric,
                BaselineValue = Round(f.BaselineValue!.Value),
                ObservedValue = Round(f.ObservedValue!.Value),
                ChangePercent = Round(f.ChangePercent ?? 0),
                Confidence = f.Confidence,
                PValue = f.PValue,
                Message = Describe(f, analysis, changeId, variant, changeText),
                Status = AnomalyStatus.Active,
                DetectedAt = now,
                ChangeId = analysis.Mode == AnalysisMode.BeforeAfter ? changeId : null,
                Variant = variant,
            };
            raise.Add(a);
            ongoing.Add(a);
        }
        return new Reconciliation(raise, resolve, escalate, ongoing);
    }

    /// <summary>"Error rate rose from 1.00% to 2.10% (+110%) …": baseline, observed, change and confidence, in words;
    /// the change by what it did and when (<paramref name="changeText"/>) when the caller knows it, else by id.</summary>
    public static string Describe(MetricFinding f, FlagAnalysis analysis, string? changeId, string? variant = null, string? changeText = null)
    {
        var rose = f.Type is AnomalyType.ConversionDrop or AnomalyType.SatisfactionDrop ? "fell" : "rose";
        var against = analysis.Mode == AnalysisMode.Cohorts
            ? variant is null ? "treatment vs control cohort" : $"treatment variant '{variant}' vs control cohort"
            : $"after {changeText ?? $"change {changeId ?? "(unknown)"}"} vs before it";
        var change = f.ChangePercent is { } pct ? $" ({pct.ToString("+0;-0", CultureInfo.InvariantCulture)}%)" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Capitalized(Label(f.Metric))} {rose} from {Format(f.Metric, f.BaselineValue!.Value)} to {Format(f.Metric, f.ObservedValue!.Value)}{change}, " +
            $"{against} ({analysis.Current.Samples} samples / {analysis.Current.Requests:N0} requests vs {analysis.Baseline.Samples} / {analysis.Baseline.Requests:N0}); " +
            $"confidence {f.Confidence * 100:0.##}% (sequential {PValueText.Format(f.SequentialPValue)}, " +
            $"{(f.RankPValue is null ? "z-test" : "Welch")} {(f.TestPValue is { } tp ? PValueText.Format(tp) : "p = n/a")}{(f.RankPValue is { } rp ? $", Mann-Whitney {PValueText.Format(rp)}" : "")}). " +
            $"Severity {f.Severity?.ToWire()}.{(f.Note.Length > 0 ? " " + f.Note : "")}");
    }

    public static string Label(string metric) => metric switch
    {
        DetectionRules.MetricNames.ErrorRate => "error rate",
        DetectionRules.MetricNames.LatencyP50 => "P50 latency",
        DetectionRules.MetricNames.LatencyP99 => "P99 latency",
        DetectionRules.MetricNames.ConversionRate => "conversion rate",
        _ => "user satisfaction",
    };

    public static string Format(string metric, double v) => metric switch
    {
        DetectionRules.MetricNames.ErrorRate or DetectionRules.MetricNames.ConversionRate => string.Create(CultureInfo.InvariantCulture, $"{v:0.00}%"),
        DetectionRules.MetricNames.LatencyP50 or DetectionRules.MetricNames.LatencyP99 => string.Create(CultureInfo.InvariantCulture, $"{v:0.#} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{v:0.00}/5"),
    };

    private static string Capitalized(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    private static double Round(double v) => Math.Round(v, 4);
}
