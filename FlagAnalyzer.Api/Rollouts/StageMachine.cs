using System.Globalization;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Telemetry;
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
    /// <summary>The metrics guarding the plan at this evaluation (<see cref="RolloutGuardrails.Of"/>).</summary>
    public IReadOnlyList<string> Guardrails { get; init; } = [];
    /// <summary>For a running plan, whether each guardrail has its comparison at the current stage (what a hold waits for).</summary>
    public IReadOnlyList<GuardrailEvidence> Evidence { get; init; } = [];
}

/// <summary>
/// The cohort-tagged samples of the flag since the plan started (<c>POST /api/metrics</c> with <c>cohort</c>, or
/// telemetry's flushes). <see cref="ExpectedTreatmentShare"/> overrides the share the sample-ratio check expects
/// (default: the stage's percentage), for sources that sample the cohorts to equal sizes.
/// </summary>
public sealed record RolloutEvidence(IReadOnlyList<MetricSample> Samples)
{
    public double? ExpectedTreatmentShare { get; init; }

    /// <summary>
    /// The length of telemetry's aggregation intervals (<c>Telemetry:SampleInterval</c>), aligned to the Unix epoch. The
    /// sample-ratio check leaves out the first sample of each cohort and variant in the stage, which may straddle its
    /// start; knowing the interval, only when that sample lies in the interval the stage began in.
    /// </summary>
    public TimeSpan? SampleInterval { get; init; }
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
/// <item>a metric past its threshold but not significant yet holds the stage (at most <see cref="RolloutPlan.EvidenceWaitFactor"/> ×
/// its minimum duration, then pauses);</item>
/// <item>a stage advances only on evidence: every guardrail of the plan (<see cref="RolloutGuardrails"/>) has a comparison
/// at this stage — at least <see cref="DetectionRules.MinBaselineSamples"/> samples carrying it per cohort (control and each
/// compared treatment variant) since the stage began, and the detector past its minimum-sample gate — and none regressed;
/// "no data yet" and "insufficient data" hold the stage, and a stage still short of a comparison after
/// <see cref="RolloutPlan.EvidenceWaitFactor"/> × its minimum duration pauses with what is missing;</item>
/// <item>otherwise the stage advances once its minimum duration and minimum requests per cohort are met; reaching
/// the last stage at 100 % (or meeting the last stage's minimums) completes the plan.</item>
/// </list>
/// Only the plan's guardrails roll back or hold; the other metrics are shown, not judged.
/// </summary>
public static class StageMachine
{
    public static readonly TimeSpan MissingTrafficGrace = TimeSpan.FromMinutes(2);
    /// <summary>
    /// By default a stage waits at most this many times its minimum duration (at least <see cref="MissingTrafficGrace"/>)
    /// for its evidence — a guardrail's comparison, or an inconclusive metric to settle — then pauses.
    /// </summary>
    public const int DefaultEvidenceWaitFactor = 4;

    public static RolloutDecision Decide(RolloutPlan plan, DateTimeOffset now, RolloutEvidence evidence)
    {
        if (plan.State != RolloutState.Running || plan.StartedAt is not { } started)
            return new RolloutDecision(RolloutAction.Hold, plan.Reason ?? $"The plan is {RolloutStates.Name(plan.State)}.", Verdicts(plan, evidence), null)
            {
                Guardrails = RolloutGuardrails.Of(plan, evidence.Samples.Where(s => plan.StartedAt is { } t && s.Timestamp >= t)),
            };

        var stage = plan.Stage;
        var stageStart = plan.StageStartedAt ?? started;
        var elapsed = now - stageStart;
        if (elapsed < TimeSpan.Zero) elapsed = TimeSpan.Zero;

        var tagged = evidence.Samples.Where(s => s.Cohort is Cohort.Control or Cohort.Treatment && s.Timestamp >= started).ToList();
        double control = 0, treatment = 0;
        // the sample-ratio check counts only what was served at this stage's split. Telemetry stamps an interval's sample
        // at its last span, so a series' (cohort × variant) first sample in the stage may hold traffic from before it (at
        // stage 1, all control): it is left out — but only when it lies in the interval the stage began in. A series with
        // no request there (a 10 % treatment in a quiet second) has a clean first sample; leaving that one out too dropped
        // an interval of treatment while control lost only its straddling sample, and the split looked tilted towards
        // control (seen in CI: 5.4 % treatment at a 10 % stage). Without the interval, every first sample is left out.
        double srmControl = 0, srmTreatment = 0;
        var series = new HashSet<(Cohort?, string?)>();
        DateTimeOffset? boundaryEnd = evidence.SampleInterval is { Ticks: > 0 } interval
            ? ImpactAggregator.IntervalStartOf(stageStart, interval) + interval
            : null;
        foreach (var s in tagged.OrderBy(s => s.Timestamp).ThenBy(s => s.Id))
        {
            if (s.Timestamp < stageStart || s.RequestCount <= 0) continue;
            // a sample stamped at the boundary itself may be that interval's end (REST callers stamp so): it counts as in it
            var first = series.Add((s.Cohort, s.Variant)) && (boundaryEnd is not { } end || s.Timestamp <= end);
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
        var guardrails = RolloutGuardrails.Of(plan, tagged);
        var guarded = guardrails.ToHashSet(StringComparer.Ordinal);
        // the worst regression of any variant first (ties: the variant with more evidence)
        var regressions = analyses.SelectMany(v => v.Analysis.Regressions.Where(f => guarded.Contains(f.Metric)).Select(f => new Judged(v.Variant, v.Analysis, f)))
            .OrderByDescending(j => j.Finding.Severity).ThenByDescending(j => j.Analysis.Current.Requests).ToList();
        var gates = Evidence(guardrails, analyses, tagged, stageStart);
        var lacking = gates.Where(e => !e.Ready).Select(e => e.Waiting!).ToList();
        RolloutDecision Make(RolloutAction a, string reason, int? to = null, SrmCheck? srm = null, string? variant = null) =>
            new(a, reason, verdicts, progress) { ToStage = to, Srm = srm, Variant = variant, Guardrails = guardrails, Evidence = gates };
        var limit = TimeSpan.FromTicks(Math.Max(stage.MinDuration.Ticks, MissingTrafficGrace.Ticks) * (plan.EvidenceWaitFactor ?? DefaultEvidenceWaitFactor));

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
            if (lacking.Count > 0) waiting.Add($"evidence ({string.Join("; ", lacking)})");
            // short of its requests and of a guardrail's comparison at the bound: paused like a missing comparison (short of
            // requests alone it waits, as it always has; a confirmed regression waits to roll back instead)
            if (durationMet && elapsed >= limit && lacking.Count > 0 && regressions.Count == 0)
                return Make(RolloutAction.Pause, $"Paused at {stageLabel}: still short of evidence after {Duration(elapsed)}: {string.Join(" and ", waiting)}; " +
                    "a person decides (resume, promote or abort).");
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
        if (analyses.SelectMany(v => v.Analysis.Findings.Where(f => f is { ThresholdCrossed: true, Significant: false } && guarded.Contains(f.Metric)).Select(f => (v.Variant, Finding: f)))
                .FirstOrDefault() is { Finding: { } open } pending)
        {
            var crossing = Inv($"{Named(pending.Variant)}{open.Metric} {Format(open.Metric, open.BaselineValue)} (control) → {Format(open.Metric, open.ObservedValue)} ({Side(pending.Variant)}) ") +
                           Inv($"is past its threshold but not significant yet (confidence {open.Confidence * 100:0.##} %)");
            return elapsed >= limit
                ? Make(RolloutAction.Pause, $"Paused at {stageLabel}: {crossing} after {Duration(elapsed)}; a person decides (resume, promote or abort).", srm: srm)
                : Make(RolloutAction.Hold, $"Waiting at {stageLabel}: {crossing}; more traffic settles it.", srm: srm);
        }

        // no comparison is not "no regression": the stage holds until each guardrail has one, then pauses at the bound
        if (lacking.Count > 0)
            return elapsed >= limit
                ? Make(RolloutAction.Pause, $"Paused at {stageLabel}: still short of evidence after {Duration(elapsed)} ({string.Join("; ", lacking)}); " +
                    "a person decides (resume, promote or abort).", srm: srm)
                : Make(RolloutAction.Hold, $"Waiting at {stageLabel}: its minimums are met; the guardrails wait for evidence ({string.Join("; ", lacking)}).", srm: srm);

        var met = Inv($"{StageLabel(plan, plan.CurrentStage)} ran {Duration(elapsed)} with {treatment:N0} treatment and {control:N0} control requests; ") +
                  $"no guardrail regressed ({Summary(analyses, guarded)})";
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

    private static string Summary(IReadOnlyList<VariantAnalysis> analyses, HashSet<string> guarded)
    {
        var parts = analyses.SelectMany(v => v.Analysis.Findings.Where(f => guarded.Contains(f.Metric) && f.BaselineValue is not null && f.ObservedValue is not null)
                .Select(f => Inv($"{(analyses.Count > 1 ? $"'{v.Variant}' " : "")}{f.Metric} {Format(f.Metric, f.BaselineValue)} → {Format(f.Metric, f.ObservedValue)} ") +
                             (f.Verdict == Verdict.InsufficientData && FewEvents(f, v.Analysis) ? "too few errors to test" : f.Verdict.ToWire().Replace('_', ' '))))
            .ToList();
        return parts.Count == 0 ? "no guardrail data yet" : string.Join("; ", parts);
    }

    /// <summary>
    /// Each guardrail against each compared side (the treatment as a whole, or each served variant): the samples carrying
    /// it since the stage began, per cohort, and whether the detector could compare it.
    /// </summary>
    private static List<GuardrailEvidence> Evidence(IReadOnlyList<string> guardrails, IReadOnlyList<VariantAnalysis> analyses,
        IReadOnlyList<MetricSample> tagged, DateTimeOffset stageStart)
    {
        var inStage = tagged.Where(s => s.Timestamp >= stageStart && s.RequestCount > 0).ToList();
        var list = new List<GuardrailEvidence>();
        foreach (var v in analyses)
        foreach (var metric in guardrails)
        {
            var name = v.Variant is null ? metric : $"{metric} of '{v.Variant}'";
            var c = inStage.Count(s => s.Cohort == Cohort.Control && RolloutGuardrails.Carries(s, metric));
            var t = inStage.Count(s => s.Cohort == Cohort.Treatment && (v.Variant is null || s.Variant == v.Variant) && RolloutGuardrails.Carries(s, metric));
            var needed = MinBaselineSamples;
            var f = v.Analysis.Findings.FirstOrDefault(x => x.Metric == metric);
            string? waiting = null;
            if (c == 0 && t == 0)
                waiting = inStage.Count == 0 ? $"{name}: no samples yet" : $"{name}: no sample at this stage reports it yet";
            else if (Math.Min(c, t) < needed)
                waiting = $"{name}: {Math.Min(c, t)} of {needed} samples per cohort (control {c}, {(v.Variant is null ? "treatment" : $"'{v.Variant}'")} {t})";
            else if (f is null || f.Verdict == Verdict.InsufficientData && !FewEvents(f, v.Analysis))
                waiting = $"{name}: insufficient data since the plan started ({(f?.Note ?? "not compared").TrimEnd('.')})";
            list.Add(new GuardrailEvidence(metric, v.Variant, waiting is null, c, t, needed, waiting));
        }
        return list;
    }

    /// <summary>
    /// The error rate's comparison is made once both sides have the detector's minimum requests: fewer than
    /// <see cref="MinEvents"/> errors in both cohorts together is a comparison (nothing to test, no increase), not a lack of
    /// data — a service that rarely fails would otherwise never pass a stage.
    /// </summary>
    private static bool FewEvents(MetricFinding f, FlagAnalysis a) =>
        f.Metric == MetricNames.ErrorRate && f.BaselineValue is not null && a.Baseline.Samples >= MinBaselineSamples
        && a.Baseline.Requests >= MinBaselineRequests && a.Current.Requests >= MinCurrentRequests;

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
