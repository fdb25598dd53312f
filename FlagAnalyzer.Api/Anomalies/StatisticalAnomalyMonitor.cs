using System.Globalization;
using FlagAnalyzer.Api.Analysis;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>One flag's analysis as <c>POST /api/analyze</c> reports it.</summary>
public sealed record FlagAnalysisReport(
    string FlagId,
    string FlagName,
    /// <summary><c>before_after</c>, <c>cohorts</c> or <c>none</c> (no baseline yet).</summary>
    string Mode,
    string? ChangeId,
    DateTimeOffset? ChangedAt,
    WindowSummary Baseline,
    WindowSummary Current,
    SrmCheck? Srm,
    IReadOnlyList<MetricFinding> Findings,
    IReadOnlyList<Anomaly> OpenAnomalies);

public sealed record DetectionRun(DetectionOutcome Outcome, IReadOnlyList<FlagAnalysisReport> Reports);

/// <summary>
/// The statistical detector on the write path: for each flag, bring its in-memory window up to date, run the
/// <see cref="RegressionDetector"/>, raise / escalate / resolve anomalies, and — for flags that opted in — roll a
/// rollout back on a confirmed high or critical regression. Everything happens in the caller's transaction.
/// </summary>
public sealed class StatisticalAnomalyMonitor(FlagWindowCache windows, FlagService flags, TimeProvider clock,
    ILogger<StatisticalAnomalyMonitor> logger) : IAnomalyMonitor
{
    public const string Guardian = "guardian";

    public async Task<DetectionOutcome> DetectAsync(WriteScope scope, IReadOnlyCollection<string> flagIds, CancellationToken ct) =>
        (await RunAsync(scope, flagIds, ct)).Outcome;

    public async Task<DetectionRun> RunAsync(WriteScope s, IReadOnlyCollection<string> flagIds, CancellationToken ct)
    {
        List<Anomaly> detected = [], resolved = [];
        List<FlagMutation> rollbacks = [];
        List<FlagAnalysisReport> reports = [];
        var now = clock.GetUtcNow();

        foreach (var flagId in flagIds)
        {
            var flag = await FlagStore.FindAsync(s.Connection, s.Transaction, flagId, ct);
            if (flag is null)
            {
                windows.Forget(flagId);
                continue;
            }
            var anchor = await AnalysisStore.LatestAnchorAsync(s, flag.Id, ct);
            var window = await windows.GetAsync(s, flag.Id, anchor, ct);
            var analysis = RegressionDetector.Analyze(window, flag.Enabled ? flag.RolloutPercentage : null);
            var open = await AnomalyStore.OpenAsync(s.Connection, s.Transaction, flag.Id, ct);
            var r = AnomalyReconciler.Reconcile(flag.Id, analysis, open, anchor?.ChangeId, now, () => Ids.New("anm", clock));

            foreach (var a in r.Raise) await AnomalyStore.InsertAsync(s.Connection, s.Transaction, a, ct);
            foreach (var a in r.Resolve.Concat(r.Escalate)) await AnomalyStore.UpdateAsync(s.Connection, s.Transaction, a, ct);
            detected.AddRange(r.Raise);
            resolved.AddRange(r.Resolve);

            var current = flag;
            if (await RollBackAsync(s, flag, analysis, r, ct) is { } m)
            {
                rollbacks.Add(m);
                current = m.After ?? flag;
            }

            var stillOpen = open.Where(a => r.Resolve.All(x => x.Id != a.Id))
                .Select(a => r.Escalate.FirstOrDefault(x => x.Id == a.Id) ?? a)
                .Concat(r.Raise).ToList();
            reports.Add(new FlagAnalysisReport(current.Id, current.Name, analysis.Mode, anchor?.ChangeId, anchor?.Timestamp,
                analysis.Baseline, analysis.Current, analysis.Srm, analysis.Findings, stillOpen));
        }
        return new DetectionRun(new DetectionOutcome(detected, resolved, rollbacks), reports);
    }

    /// <summary>
    /// The guardrail: a flag with <c>autoRollback</c>, exposed to some traffic, with a confirmed high or critical
    /// regression (and cohorts, if any, split as the rollout promises) is disabled and set to 0 %.
    /// </summary>
    private async Task<FlagMutation?> RollBackAsync(WriteScope s, Flag flag, FlagAnalysis analysis, Reconciliation r, CancellationToken ct)
    {
        if (!flag.AutoRollback || !flag.Enabled || flag.RolloutPercentage <= 0 || analysis.Srm is { Mismatch: true }) return null;
        var trigger = r.Ongoing
            .Where(a => a.Severity is Severities.High or Severities.Critical)
            .OrderByDescending(a => a.Severity == Severities.Critical)
            .FirstOrDefault();
        if (trigger is null) return null;

        var reason = string.Create(CultureInfo.InvariantCulture,
            $"Auto-rollback on {trigger.Type} {trigger.Id}: {AnomalyReconciler.Label(trigger.Metric)} " +
            $"{AnomalyReconciler.Format(trigger.Metric, trigger.BaselineValue)} → {AnomalyReconciler.Format(trigger.Metric, trigger.ObservedValue)} " +
            $"({trigger.ChangePercent:+0;-0}%), severity {trigger.Severity}, confidence {trigger.Confidence * 100:0.##}%; " +
            $"rollout was {flag.RolloutPercentage:0.##}%.");
        var m = await flags.MutateAsync(s, flag, flag with { Enabled = false, RolloutPercentage = 0 }, ChangeTypes.RolledBack, Guardian, reason, ct);
        if (m is not null)
            logger.LogWarning("Guardian rolled back flag {Flag} ({FlagId}): {Reason}", flag.Name, flag.Id, reason);
        return m;
    }
}
