using System.Globalization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// The guardrail on detection's anomaly events (<see cref="IRegressionGuard"/>): a flag with <c>autoRollback</c>, exposed to
/// some traffic, with a confirmed high or critical regression (and cohorts, if any, split as the rollout promises) is
/// disabled and set to 0 %, in the detection's transaction; a plan of the flag ends rolled back with it
/// (<see cref="RolloutService.RollBackOnRegressionAsync"/>). Staged plans are otherwise decided by
/// <see cref="RolloutGuardian"/>: both live here, so a flag is rolled back once per regression.
/// </summary>
public sealed class RegressionGuard(RolloutService rollouts, ILogger<RegressionGuard> logger) : IRegressionGuard
{
    public async Task<GuardRollback?> OnAnomaliesAsync(WriteScope scope, FlagAnomalies open, CancellationToken ct)
    {
        if (open.Analysis.Srm is { Mismatch: true }) return null;
        var trigger = open.Anomalies
            .Where(a => a.Severity >= Severity.High)
            .OrderByDescending(a => a.Severity)
            .FirstOrDefault();
        if (trigger is null) return null;
        // the anomalies are of one environment's samples: only that environment's configuration (its opt-in, its switch,
        // its rollout) and plan answer for them
        var environment = trigger.Environment.Length > 0 ? trigger.Environment : open.Flag.TargetEnvironment;
        var flag = await ConfigurationWriter.ViewAsync(scope.Connection, scope.Transaction, open.Flag, environment, ct);
        if (flag is null || !flag.AutoRollback || !flag.Enabled || flag.RolloutPercentage <= 0) return null;

        var reason = string.Create(CultureInfo.InvariantCulture,
            $"Auto-rollback on {trigger.Type.ToWire()} {trigger.Id}: {AnomalyReconciler.Label(trigger.Metric)} " +
            $"{AnomalyReconciler.Format(trigger.Metric, trigger.BaselineValue)} → {AnomalyReconciler.Format(trigger.Metric, trigger.ObservedValue)} " +
            $"({trigger.ChangePercent:+0;-0}%), severity {trigger.Severity.ToWire()}, confidence {trigger.Confidence * 100:0.##}%; " +
            $"rollout was {flag.RolloutPercentage:0.##}%.");
        if (await rollouts.RollBackOnRegressionAsync(scope, flag, environment, reason, ct) is not { } done) return null;
        if (done.Mutation is not null)
            logger.LogWarning("Guardian rolled back flag {Flag} ({FlagId}){Plan}: {Reason}", flag.Name, flag.Id,
                done.Plan is { } p ? $" and ended its rollout {p.Plan.Id}" : "", reason);
        return new Rollback(done.Mutation, done.Plan, done.AfterHeld);
    }

    public async Task AfterCommitAsync(GuardRollback rollback, CancellationToken ct)
    {
        if (rollback is Rollback { Plan: { } plan }) await rollouts.AfterCommitAsync(plan, ct);
        else if (rollback.Mutation is { } m) await rollouts.AfterCommitAsync(m, ct);
        if (rollback is Rollback { AfterHeld: { } held }) await held(ct);
    }

    /// <summary>
    /// The rollback and the plan it ended (announced as <c>rollout.updated</c> after commit); or, where the environment
    /// holds the guardian's rollback for approval, no mutation, the plan it paused and the held request's announcement.
    /// </summary>
    private sealed record Rollback(FlagMutation? Mutation, RolloutService.Applied? Plan, Func<CancellationToken, Task>? AfterHeld) : GuardRollback(Mutation);
}
