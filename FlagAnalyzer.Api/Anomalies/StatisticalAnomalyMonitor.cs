using System.Globalization;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>One flag's analysis as <c>POST /api/analyze</c> reports it.</summary>
public sealed record FlagAnalysisReport(
    string FlagId,
    string FlagName,
    /// <summary><c>before_after</c>, <c>cohorts</c> or <c>none</c> (no baseline yet).</summary>
    AnalysisMode Mode,
    string? ChangeId,
    DateTimeOffset? ChangedAt,
    WindowSummary Baseline,
    WindowSummary Current,
    SrmCheck? Srm,
    IReadOnlyList<MetricFinding> Findings,
    IReadOnlyList<Anomaly> OpenAnomalies)
{
    /// <summary>Each named treatment variant against control (empty when the samples do not name variants).</summary>
    public IReadOnlyList<VariantReport> Variants { get; init; } = [];

    /// <summary>The environment whose samples were analysed (issue 26).</summary>
    public string Environment { get; init; } = "";
}

/// <summary>One variant's comparison with control in a <see cref="FlagAnalysisReport"/>.</summary>
public sealed record VariantReport(string Variant, WindowSummary Current, IReadOnlyList<MetricFinding> Findings);

public sealed record DetectionRun(DetectionOutcome Outcome, IReadOnlyList<FlagAnalysisReport> Reports);

/// <summary>
/// The statistical detector on the write path: for each flag, bring its in-memory window up to date, run the
/// <see cref="RegressionDetector"/>, raise / escalate / resolve anomalies, and hand a flag's open anomalies with their
/// evidence to the guardian (<see cref="IRegressionGuard"/>, Rollouts), which decides whether to roll it back.
/// Everything happens in the caller's transaction.
/// </summary>
public sealed class StatisticalAnomalyMonitor(FlagWindowCache windows, IRegressionGuard guard, TimeProvider clock,
    ILogger<StatisticalAnomalyMonitor> logger, IEventOutbox? outbox = null) : IAnomalyMonitor
{

    /// <summary>
    /// The write path: each flag runs under its own savepoint, so a detector failure is logged and undone for that
    /// flag alone — the metrics it was called for still commit.
    /// </summary>
    public async Task<DetectionOutcome> DetectAsync(WriteScope scope, IReadOnlyCollection<FlagInEnvironment> flags, CancellationToken ct,
        IReadOnlyList<MetricSample>? recorded = null) =>
        (await RunAsync(scope, flags, ct, isolateFailures: true, recorded)).Outcome;

    /// <summary>Detection for the given flags inside the caller's transaction; the caller commits, then publishes.</summary>
    /// <remarks>Issue 26: each (flag, environment) is its own analysis — its window, token, anomalies and verdicts — so one
    /// environment's samples never move another's baseline or decisions.</remarks>
    public async Task<DetectionRun> RunAsync(WriteScope s, IReadOnlyCollection<FlagInEnvironment> flags, CancellationToken ct, bool isolateFailures = false,
        IReadOnlyList<MetricSample>? recorded = null)
    {
        // a flag's window, token and anomalies change only under its lock: two passes on one flag, on any replica, take turns
        if (flags.FirstOrDefault(f => !s.Holds(f.FlagId)) is { FlagId: not null } unlocked)
            throw new InvalidOperationException($"Detection for flag {unlocked.FlagId} runs in a transaction holding {s.Lock}, not the flag's lock.");
        var recordedByFlag = recorded?.GroupBy(m => new FlagInEnvironment(m.FlagId, m.Environment))
            .ToDictionary(g => g.Key, g => (IReadOnlyList<MetricSample>)g.ToList());
        List<Anomaly> detected = [], resolved = [], escalated = [];
        List<GuardRollback> rollbacks = [];
        List<FlagAnalysisReport> reports = [];
        var now = clock.GetUtcNow();

        foreach (var flagId in flags)
        {
            FlagPass? pass;
            if (!isolateFailures) pass = await DetectFlagAsync(s, flagId, now, ct, recordedByFlag?.GetValueOrDefault(flagId));
            else
            {
                s.Transaction.Save(Savepoint);
                try
                {
                    pass = await DetectFlagAsync(s, flagId, now, ct, recordedByFlag?.GetValueOrDefault(flagId));
                    s.Transaction.Release(Savepoint);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    s.Transaction.Rollback(Savepoint);
                    s.Transaction.Release(Savepoint);
                    windows.Forget(flagId);
                    logger.LogError(ex, "Anomaly detection failed for flag {FlagId} in {Environment}; its metrics are kept, detection is skipped this time",
                        flagId.FlagId, flagId.Environment);
                    continue;
                }
            }
            if (pass is null) continue;
            detected.AddRange(pass.Raised);
            resolved.AddRange(pass.Resolved);
            escalated.AddRange(pass.Escalated);
            if (pass.Rollback is { } m) rollbacks.Add(m);
            reports.Add(pass.Report);
        }
        return new DetectionRun(new DetectionOutcome(detected, resolved, rollbacks) { Escalated = escalated }, reports);
    }

    private const string Savepoint = "anomaly_detection";

    /// <summary>Each variant's comparison reconciles with that variant's open anomalies; the outcomes add up.</summary>
    private Reconciliation Reconcile(string flagId, string environment, VariantAnalyses analyses, IReadOnlyList<Anomaly> open, string? changeId, DateTimeOffset now,
        string? changeText)
    {
        List<Anomaly> raise = [], resolve = [], escalate = [], ongoing = [];
        foreach (var (variant, analysis) in analyses.PerVariant)
        {
            var r = AnomalyReconciler.Reconcile(flagId, analysis, open.Where(a => a.Variant == variant).ToList(), changeId, now,
                () => Ids.New("anm", clock), variant, changeText);
            // the reconciler knows flags, not environments: every anomaly it hands back is of this pass's environment
            raise.AddRange(r.Raise.Select(a => a with { Environment = environment }));
            resolve.AddRange(r.Resolve.Select(a => a with { Environment = environment }));
            escalate.AddRange(r.Escalate.Select(a => a with { Environment = environment }));
            ongoing.AddRange(r.Ongoing.Select(a => a with { Environment = environment }));
        }
        return new Reconciliation(raise, resolve, escalate, ongoing);
    }

    private sealed record FlagPass(IReadOnlyList<Anomaly> Raised, IReadOnlyList<Anomaly> Resolved, GuardRollback? Rollback, FlagAnalysisReport Report)
    {
        public IReadOnlyList<Anomaly> Escalated { get; init; } = [];
    }

    private async Task<FlagPass?> DetectFlagAsync(WriteScope s, FlagInEnvironment key, DateTimeOffset now, CancellationToken ct,
        IReadOnlyList<MetricSample>? recorded)
    {
        var token = Guid.NewGuid().ToString("N");
        var (flag, anchor, committedToken, open) = await AnalysisStore.ReadInputsAsync(s, key.FlagId, key.Environment, token, ct);
        if (flag is null)
        {
            windows.Forget(key.FlagId);
            return null;
        }
        var window = await windows.GetAsync(s, key, anchor, committedToken, token, ct, recorded);
        // the split the rollout promises is known for the home configuration only (Flags reads it); another environment
        // is checked for a sample-ratio mismatch once its configuration can be read here
        var home = key.Environment == flag.TargetEnvironment;
        var analyses = RegressionDetector.AnalyzeVariants(window, home && flag.Enabled ? flag.RolloutPercentage : null);
        var analysis = analyses.Overall;
        var changeText = anchor is null ? null : ChangeText.Describe(anchor.ChangeType, anchor.Timestamp, anchor.RolloutBefore, anchor.RolloutAfter, now);
        var r = Reconcile(flag.Id, key.Environment, analyses, open, anchor?.ChangeId, now, changeText);

        foreach (var a in r.Raise) await AnomalyStore.InsertAsync(s.Connection, s.Transaction, a, ct);
        foreach (var a in r.Resolve.Concat(r.Escalate)) await AnomalyStore.UpdateAsync(s.Connection, s.Transaction, a, ct);
        await AnomalyNotices.EnlistAsync(outbox, s, flag, r.Raise.Concat(r.Escalate), r.Resolve, ct);
        // the guardian hears of every flag with open anomalies (what this pass raised or escalated, and what it still confirms)
        var rollback = r.Ongoing.Count == 0 ? null : await guard.OnAnomaliesAsync(s, new FlagAnomalies(flag, analysis, r.Ongoing), ct);
        var current = rollback?.Mutation?.After ?? flag;

        var stillOpen = open.Where(a => r.Resolve.All(x => x.Id != a.Id))
            .Select(a => r.Escalate.FirstOrDefault(x => x.Id == a.Id) ?? a)
            .Concat(r.Raise).ToList();
        var report = new FlagAnalysisReport(current.Id, current.Name, analysis.Mode, anchor?.ChangeId, anchor?.Timestamp,
            analysis.Baseline, analysis.Current, analysis.Srm, analysis.Findings, stillOpen)
        {
            Environment = key.Environment,
            Variants = analyses.PerVariant.Where(v => v.Variant is not null)
                .Select(v => new VariantReport(v.Variant!, v.Analysis.Current, v.Analysis.Findings)).ToList(),
        };
        return new FlagPass(r.Raise, r.Resolve, rollback, report) { Escalated = r.Escalate };
    }
}
