using System.Globalization;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using static FlagAnalyzer.Api.Statistics.DetectionRules;

namespace FlagAnalyzer.Api.Rollouts;

[JsonConverter(typeof(JsonStringEnumConverter<RolloutAction>))]
public enum RolloutAction
{
    [JsonStringEnumMemberName("hold")] Hold,
    [JsonStringEnumMemberName("advance")] Advance,
    [JsonStringEnumMemberName("roll_back")] RollBack,
    [JsonStringEnumMemberName("pause")] Pause,
    [JsonStringEnumMemberName("complete")] Complete,
}

/// <summary>
/// What the guardian should do now. <see cref="ToStage"/> is the stage to expose for <see cref="RolloutAction.Advance"/>
/// and <see cref="RolloutAction.Complete"/>.
/// </summary>
public sealed record RolloutDecision(RolloutAction Action, string Reason, IReadOnlyList<RolloutVerdict> Verdicts, StageProgress? Progress)
{
    public int? ToStage { get; init; }
    public SrmCheck? Srm { get; init; }
    /// <summary>The served variant whose regression decided a roll-back (null when the treatment was judged as a whole).</summary>
    public string? Variant { get; init; }
}

/// <summary>
/// The cohort-tagged samples of the flag since the plan started (<c>POST /api/metrics</c> with <c>cohort</c>, or
/// telemetry's flushes). <see cref="ExpectedTreatmentShare"/> overrides the share the sample-ratio check expects
/// (default: the stage's percentage), for sources that sample the cohorts to equal sizes.
/// </summary>
public sealed record RolloutEvidence(IReadOnlyList<MetricSample> Samples)
{
    public double? ExpectedTreatmentShare { get; init; }
}

/// <summary>
/// The stage machine: a pure function of (plan, now, evidence) → decision. Regressions are judged by the existing
/// <see cref="RegressionDetector"/> (control vs treatment since the plan started: threshold, always-valid sequential
/// test, minimum-sample gate), each served treatment variant against control when every treatment sample names its
/// variant (a regression of one variant is not diluted by a healthy one), else the treatment as a whole; minimums and
/// the sample-ratio check use the current stage's samples only, all treatment variants together.
/// <list type="bullet">
/// <item>a confirmed high or critical regression rolls back at once;</item>
/// <item>a confirmed medium regression holds the stage and rolls back once its minimums are met (a guarded
/// rollout never advances past a confirmed regression, and waiting longer only exposes more users);</item>
/// <item>a cohort without traffic after the minimum duration (and at least <see cref="MissingTrafficGrace"/>), or a
/// sample-ratio mismatch once the minimums are met, pauses with the reason;</item>
/// <item>a metric past its threshold but not significant yet holds the stage (at most <see cref="InconclusiveFactor"/> ×
/// its minimum duration, then pauses);</item>
/// <item>otherwise the stage advances once its minimum duration and minimum requests per cohort are met; reaching
/// the last stage at 100 % (or meeting the last stage's minimums) completes the plan.</item>
/// </list>
/// </summary>
public static class StageMachine
{
    public static readonly TimeSpan MissingTrafficGrace = TimeSpan.FromMinutes(2);
    /// <summary>A stage waits at most this many times its minimum duration for an inconclusive metric to settle, then pauses.</summary>
    public const int InconclusiveFactor = 4;

    public static RolloutDecision Decide(RolloutPlan plan, DateTimeOffset now, RolloutEvidence evidence)
    {
        if (plan.State != RolloutState.Running || plan.StartedAt is not { } started)
            return new RolloutDecision(RolloutAction.Hold, plan.Reason ?? $"The plan is {RolloutStates.Name(plan.State)}.", Verdicts(plan, evidence), null);

        var stage = plan.Stage;
        var stageStart = plan.StageStartedAt ?? started;
        var elapsed = now - stageStart;
        if (elapsed < TimeSpan.Zero) elapsed = TimeSpan.Zero;

        var tagged = evidence.Samples.Where(s => s.Cohort is Cohort.Control or Cohort.Treatment && s.Timestamp >= started).ToList();
        double control = 0, treatment = 0;
        // the sample-ratio check counts only what was served at this stage's split: the first sample of each series
        // (cohort × variant) stamped in the stage may hold traffic from before it — telemetry stamps an interval's sample
        // at its last span, so the interval the stage began in is partly at the previous split (or, at stage 1, all control)
        double srmControl = 0, srmTreatment = 0;
        var series = new HashSet<(Cohort?, string?)>();
        foreach (var s in tagged.OrderBy(s => s.Timestamp).ThenBy(s => s.Id))
        {
            if (s.Timestamp < stageStart || s.RequestCount <= 0) continue;
            var first = series.Add((s.Cohort, s.Variant));
            if (s.Cohort == Cohort.Control)
            {
                control += s.RequestCount;
                if (!first) srmControl += s.RequestCount;
            }
            else
            {
                treatment += s.RequestCount;
                if (!first) srmTreatment += s.RequestCount;
            }
        }
        var progress = new StageProgress(elapsed.TotalSeconds, Math.Max(0, (stage.MinDuration - elapsed).TotalSeconds), control, treatment,
            Math.Max(0, stage.MinRequests - Math.Min(control, treatment)));

        var analyses = RegressionDetector.AnalyzeVariants(FlagWindow.Build(started, tagged)).PerVariant;
        var verdicts = ToVerdicts(analyses);
        // the worst regression of any variant first (ties: the variant with more evidence)
        var regressions = analyses.SelectMany(v => v.Analysis.Regressions.Select(f => new Judged(v.Variant, v.Analysis, f)))
            .OrderByDescending(j => j.Finding.Severity).ThenByDescending(j => j.Analysis.Current.Requests).ToList();
        RolloutDecision Make(RolloutAction a, string reason, int? to = null, SrmCheck? srm = null, string? variant = null) =>
            new(a, reason, verdicts, progress) { ToStage = to, Srm = srm, Variant = variant };

        var stageLabel = StageLabel(plan, plan.CurrentStage);
        if (regressions.FirstOrDefault(j => j.Finding.Severity >= Severity.High) is { } severe)
            return Make(RolloutAction.RollBack, $"Rolled back at {stageLabel}: {Evidence(severe)}; {Totals(severe)}.", variant: severe.Variant);

        var durationMet = elapsed >= stage.MinDuration;
        var requestsMet = control >= stage.MinRequests && treatment >= stage.MinRequests;
        if (stage.MinRequests > 0 && durationMet && elapsed >= MissingTrafficGrace && (control <= 0 || treatment <= 0))
        {
            var missing = control <= 0 && treatment <= 0 ? "either cohort" : control <= 0 ? "the control cohort" : "the treatment cohort";
            return Make(RolloutAction.Pause, $"Paused at {stageLabel}: no traffic from {missing} in {Duration(elapsed)} " +
                $"(samples need cohort control or treatment).");
        }

        if (!durationMet || !requestsMet)
        {
            var waiting = new List<string>();
            if (!durationMet) waiting.Add($"{Duration(stage.MinDuration - elapsed)} of its minimum duration");
            if (!requestsMet) waiting.Add(Inv($"{progress.RequestsLeft:N0} more requests per cohort (treatment {treatment:N0}, control {control:N0}, minimum {stage.MinRequests:N0})"));
            var why = $"Waiting at {stageLabel}: {string.Join(" and ", waiting)}.";
            if (regressions.FirstOrDefault() is { } medium)
                why += $" A {medium.Finding.Severity?.ToWire()} regression is confirmed ({Evidence(medium)}): the plan rolls back when the stage's minimums are met.";
            return Make(RolloutAction.Hold, why);
        }

        var share = evidence.ExpectedTreatmentShare ?? stage.Percentage / 100;
        SrmCheck? srm = null;
        if (share is > 0 and < 1)
        {
            // the split is checked before a stage is passed: wait for a sample of each cohort wholly inside the stage
            if ((srmControl <= 0 || srmTreatment <= 0) && stage.MinRequests > 0)
                return Make(RolloutAction.Hold, $"Waiting at {stageLabel}: its minimums are met; the sample-ratio check waits for a second sample of each cohort " +
                    "in the stage (the first may hold traffic from before it).");
        }
        if (share is > 0 and < 1 && srmControl + srmTreatment > 0)
        {
            var t = SampleRatioMismatch.Run([srmTreatment, srmControl], [share, 1 - share]);
            srm = new SrmCheck(srmTreatment, srmControl, share, t.Statistic, t.PValue, t.PValue < SrmAlpha);
            if (srm.Mismatch)
                return Make(RolloutAction.Pause, Inv($"Paused at {stageLabel}: sample-ratio mismatch — {srmTreatment:N0} treatment and {srmControl:N0} control requests, ") +
                    Inv($"expected {share * 100:0.##} % treatment, observed {srmTreatment / (srmTreatment + srmControl) * 100:0.##} % (χ² {t.Statistic:0.#}, p {t.PValue:0.###e+0}); ") +
                    "the split is not what the rollout promises, so its comparison is not trusted.", srm: srm);
        }

        if (regressions.FirstOrDefault() is { } confirmed)
            return Make(RolloutAction.RollBack, $"Rolled back at {stageLabel}: {Evidence(confirmed)}, still confirmed when the stage's minimums were met; {Totals(confirmed)}.",
                srm: srm, variant: confirmed.Variant);

        // a metric past its threshold without significance yet is not "no regression": more traffic settles it
        // either way (a harmless blip falls back under the bar, a real one becomes significant); bounded by a pause
        if (analyses.SelectMany(v => v.Analysis.Findings.Where(f => f is { ThresholdCrossed: true, Significant: false }).Select(f => (v.Variant, Finding: f)))
                .FirstOrDefault() is { Finding: { } open } pending)
        {
            var limit = TimeSpan.FromTicks(Math.Max(stage.MinDuration.Ticks, MissingTrafficGrace.Ticks) * InconclusiveFactor);
            var crossing = Inv($"{Named(pending.Variant)}{open.Metric} {Format(open.Metric, open.BaselineValue)} (control) → {Format(open.Metric, open.ObservedValue)} ({Side(pending.Variant)}) ") +
                           Inv($"is past its threshold but not significant yet (confidence {open.Confidence * 100:0.##} %)");
            return elapsed >= limit
                ? Make(RolloutAction.Pause, $"Paused at {stageLabel}: {crossing} after {Duration(elapsed)}; a person decides (resume, promote or abort).", srm: srm)
                : Make(RolloutAction.Hold, $"Waiting at {stageLabel}: {crossing}; more traffic settles it.", srm: srm);
        }

        var met = Inv($"{StageLabel(plan, plan.CurrentStage)} ran {Duration(elapsed)} with {treatment:N0} treatment and {control:N0} control requests; ") +
                  $"no guardrail regressed ({Summary(analyses)})";
        var next = plan.CurrentStage + 1;
        if (next >= plan.Stages.Count)
            return Make(RolloutAction.Complete, $"Completed: {met}.", plan.CurrentStage, srm);
        if (next == plan.Stages.Count - 1 && plan.Stages[next].Percentage >= 100)
            return Make(RolloutAction.Complete, $"Completed at {StageLabel(plan, next)}: {met}.", next, srm);
        return Make(RolloutAction.Advance, $"Advanced to {StageLabel(plan, next)}: {met}.", next, srm);
    }

    /// <summary>The guardrail verdicts over the plan's evidence (control vs each treatment variant since it started); none before it started.</summary>
    public static IReadOnlyList<RolloutVerdict> Verdicts(RolloutPlan plan, RolloutEvidence evidence) =>
        plan.StartedAt is { } started
            ? ToVerdicts(RegressionDetector.AnalyzeVariants(FlagWindow.Build(started,
                evidence.Samples.Where(s => s.Cohort is Cohort.Control or Cohort.Treatment && s.Timestamp >= started))).PerVariant)
            : [];

    /// <summary>A regression, with the variant (null: the treatment as a whole) and the comparison it was found in.</summary>
    private sealed record Judged(string? Variant, FlagAnalysis Analysis, MetricFinding Finding);

    private static List<RolloutVerdict> ToVerdicts(IReadOnlyList<VariantAnalysis> analyses) =>
        analyses.SelectMany(v => v.Analysis.Findings.Select(f => ToVerdict(f, v.Variant))).ToList();

    /// <summary>The plan after the guardian applies <paramref name="d"/> at <paramref name="now"/> (unchanged for a hold).</summary>
    public static RolloutPlan Next(RolloutPlan plan, RolloutDecision d, DateTimeOffset now) => d.Action switch
    {
        RolloutAction.Advance => plan with { CurrentStage = d.ToStage!.Value, StageStartedAt = now, Reason = d.Reason },
        RolloutAction.Complete => plan with { State = RolloutState.Completed, CurrentStage = d.ToStage!.Value, StageStartedAt = now, Reason = d.Reason },
        RolloutAction.RollBack => plan with { State = RolloutState.RolledBack, Reason = d.Reason },
        RolloutAction.Pause => plan with { State = RolloutState.Paused, Reason = d.Reason },
        _ => plan,
    };

    public static string StageLabel(RolloutPlan plan, int index) =>
        Inv($"stage {index + 1} of {plan.Stages.Count} ({plan.Stages[index].Percentage:0.##} %)");

    private static RolloutVerdict ToVerdict(MetricFinding f, string? variant) =>
        new(f.Metric, f.Verdict, f.BaselineValue, f.ObservedValue, f.ChangePercent, f.Confidence, f.Severity, f.Note, variant);

    /// <summary>"variant 'green': " before a variant's evidence; nothing for the treatment as a whole.</summary>
    private static string Named(string? variant) => variant is null ? "" : $"variant '{variant}': ";

    /// <summary>The compared side's label: the variant, or "treatment".</summary>
    private static string Side(string? variant) => variant is null ? "treatment" : $"'{variant}'";

    private static string Evidence(Judged j)
    {
        var f = j.Finding;
        return Inv($"{Named(j.Variant)}{f.Metric} {Format(f.Metric, f.BaselineValue)} (control) → {Format(f.Metric, f.ObservedValue)} ({Side(j.Variant)})") +
               Inv($" ({f.ChangePercent:+0;-0} %), a {f.Severity?.ToWire()} regression with confidence {f.Confidence * 100:0.##} %");
    }

    private static string Totals(Judged j) =>
        Inv($"{j.Analysis.Current.Requests:N0} {(j.Variant is null ? "treatment" : $"'{j.Variant}'")} and {j.Analysis.Baseline.Requests:N0} control requests since the plan started");

    private static string Summary(IReadOnlyList<VariantAnalysis> analyses)
    {
        var parts = analyses.SelectMany(v => v.Analysis.Findings.Where(f => f.BaselineValue is not null && f.ObservedValue is not null)
                .Select(f => Inv($"{(analyses.Count > 1 ? $"'{v.Variant}' " : "")}{f.Metric} {Format(f.Metric, f.BaselineValue)} → {Format(f.Metric, f.ObservedValue)} {f.Verdict.ToWire().Replace('_', ' ')}")))
            .ToList();
        return parts.Count == 0 ? "no guardrail data yet" : string.Join("; ", parts);
    }

    private static string Format(string metric, double? v) => v is not { } x ? "n/a" : metric switch
    {
        MetricNames.ErrorRate or MetricNames.ConversionRate => Inv($"{x:0.###} %"),
        MetricNames.LatencyP50 or MetricNames.LatencyP99 => Inv($"{x:0.#} ms"),
        _ => Inv($"{x:0.##}"),
    };

    public static string Duration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds}s" : $"{t.Seconds}s";
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
