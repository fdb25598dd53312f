using System.Threading.Channels;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

public sealed class RolloutOptions
{
    /// <summary>How often the guardian looks at running plans and due schedules (<c>Rollouts:TickInterval</c>).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Ticks on the <see cref="TimeProvider"/> (and early, when metrics arrive for a flag): fires due schedules, then lets
/// each running plan's stage machine decide. All state is in the database, so a restart continues where it stopped,
/// and every transition re-checks the plan's version in its own write transaction.
/// </summary>
public sealed class RolloutGuardian(Db db, RolloutService rollouts, ScheduleService schedules, TimeProvider clock,
    RolloutNudges nudges, Microsoft.Extensions.Options.IOptions<RolloutOptions> options, ILogger<RolloutGuardian> logger) : BackgroundService
{

    // one pass at a time on this replica: a timer tick, a nudge after metrics and a caller's TickAsync never overlap, so
    // when TickAsync returns every decision made so far is committed and its cache and live updates are done
    private readonly SemaphoreSlim _pass = new(1, 1);

    /// <summary>One pass; returns the decisions applied (tests call it after moving the fake clock).</summary>
    public async Task<IReadOnlyList<RolloutDecision>> TickAsync(CancellationToken ct = default)
    {
        await _pass.WaitAsync(ct);
        try
        {
            return await PassAsync(ct);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task<IReadOnlyList<RolloutDecision>> PassAsync(CancellationToken ct)
    {
        await schedules.FireDueAsync(ct);
        List<RolloutPlan> running;
        await using (var conn = await db.OpenAsync(ct))
            running = await RolloutStore.InStatesAsync(conn, null, [RolloutState.Running], 1000, ct);
        var applied = new List<RolloutDecision>();
        foreach (var plan in running)
        {
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
                if (first == tick)
                {
                    if (!await tick) return;
                    tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                }
                while (nudges.Reader.TryRead(out _)) { }
                await TickAsync(stoppingToken);
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

/// <summary>New metrics may decide a plan: a live-event sink that wakes the guardian early (a bounded, coalesced signal).</summary>
public sealed class RolloutNudges : ILiveEventSink
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public ChannelReader<bool> Reader => _signal.Reader;

    public ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
    {
        if (e.Type == LiveEventTypes.MetricsRecorded) _signal.Writer.TryWrite(true);
        return ValueTask.CompletedTask;
    }
}
