using System.Threading.Channels;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

public sealed class RolloutOptions
{
    /// <summary>How often the guardian looks at running plans and due schedules (<c>Rollouts:TickInterval</c>).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Ticks on the <see cref="TimeProvider"/> (and early, when metrics arrive for a flag): fires due schedules, then lets
/// each running plan's stage machine decide — on a tick every plan, on a nudge only the plans of the flags that got
/// metrics. Each decision reads its evidence incrementally (<see cref="RolloutEvidenceCache"/>). All state is in the
/// database, so a restart continues where it stopped, and every transition re-checks the plan's version in its own write
/// transaction. Rollbacks on detection's anomalies are the other half of the guardian (<see cref="RegressionGuard"/>).
/// </summary>
public sealed class RolloutGuardian(Db db, RolloutService rollouts, ScheduleService schedules, TimeProvider clock,
    RolloutNudges nudges, Microsoft.Extensions.Options.IOptions<RolloutOptions> options, ILogger<RolloutGuardian> logger) : BackgroundService
{

    // one pass at a time on this replica: a timer tick, a nudge after metrics and a caller's TickAsync never overlap, so
    // when TickAsync returns every decision made so far is committed and its cache and live updates are done
    private readonly SemaphoreSlim _pass = new(1, 1);

    /// <summary>One pass; returns the decisions applied (tests call it after moving the fake clock).</summary>
    public Task<IReadOnlyList<RolloutDecision>> TickAsync(CancellationToken ct = default) => TickAsync(null, ct);

    /// <param name="flagIds">Only the plans of these flags (a nudge); null for every running plan.</param>
    private async Task<IReadOnlyList<RolloutDecision>> TickAsync(IReadOnlySet<string>? flagIds, CancellationToken ct)
    {
        await _pass.WaitAsync(ct);
        try
        {
            return await PassAsync(flagIds, ct);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task<IReadOnlyList<RolloutDecision>> PassAsync(IReadOnlySet<string>? flagIds, CancellationToken ct)
    {
        await schedules.FireDueAsync(ct);
        List<RolloutPlan> running;
        await using (var conn = await db.OpenAsync(ct))
            running = await RolloutStore.InStatesAsync(conn, null, [RolloutState.Running], 1000, ct);
        var applied = new List<RolloutDecision>();
        foreach (var plan in running)
        {
            if (flagIds is not null && !flagIds.Contains(plan.FlagId)) continue;
            try
            {
                if (await rollouts.GuardAsync(plan, ct) is { } d) applied.Add(d);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Guardian pass failed for rollout {RolloutId} of flag {FlagId}; retried on the next tick", plan.Id, plan.FlagId);
            }
        }
        return applied;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.TickInterval, clock);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        while (!stoppingToken.IsCancellationRequested)
        {
            var nudge = nudges.Reader.WaitToReadAsync(stoppingToken).AsTask();
            try
            {
                var first = await Task.WhenAny(tick, nudge);
                IReadOnlySet<string>? flags = null;
                if (first == tick)
                {
                    if (!await tick) return;
                    tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                    nudges.Drain();
                }
                else flags = nudges.Drain();
                await TickAsync(flags, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Rollout guardian tick failed");
            }
        }
    }
}

/// <summary>
/// New metrics may decide a plan, and so may a committed change of its flag (someone disables it, or moves its rollout,
/// on any replica): a live-event sink and a change-feed subscriber that wake the guardian early (a bounded, coalesced
/// signal) and remember which flags they were for, so the early pass looks at their plans only.
/// </summary>
public sealed class RolloutNudges : ILiveEventSink, IChangeFeedSubscriber
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly object _gate = new();
    private HashSet<string> _flags = new(StringComparer.Ordinal);

    public ChannelReader<bool> Reader => _signal.Reader;

    public ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
    {
        if (e.Type != LiveEventTypes.MetricsRecorded || e.FlagId is not { } flagId) return ValueTask.CompletedTask;
        lock (_gate) _flags.Add(flagId);
        _signal.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }

    /// <summary>The guardian nudge of the change feed: at least once per committed change (a repeat costs one early look).</summary>
    public ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct)
    {
        lock (_gate) _flags.Add(entry.Change.FlagId);
        _signal.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }

    /// <summary>The flags nudged since the last drain; clears the signal.</summary>
    public IReadOnlySet<string> Drain()
    {
        while (_signal.Reader.TryRead(out _)) { }
        lock (_gate)
        {
            var flags = _flags;
            _flags = new HashSet<string>(StringComparer.Ordinal);
            return flags;
        }
    }
}
