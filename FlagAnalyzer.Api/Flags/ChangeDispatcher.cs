using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Drains the outbox to the feed's global subscribers (<see cref="IChangeFeedSubscriber"/>), once per row for the whole
/// deployment, at least once. The writer dispatches its own rows right after its commit (it holds their lease from the
/// insert on); every replica also looks, every <see cref="ChangeFeedOptions.DrainSeconds"/>, for rows whose lease ran
/// out — a writer that died between its commit and its dispatch, or a subscriber that failed — and claims each with a
/// conditional update (one replica wins a row), so nothing committed is lost and nothing waits for the dead writer to
/// come back. A row is marked dispatched once every subscriber took it; dispatched rows are kept for
/// <see cref="ChangeFeedOptions.RetentionMinutes"/> for replicas that follow the feed, then pruned.
/// </summary>
public sealed partial class ChangeDispatcher(Db db, ChangeFeed feed, IServiceProvider services, TimeProvider clock,
    IOptions<ChangeFeedOptions> options, ILogger<ChangeDispatcher> log) : BackgroundService
{
    private const int Batch = 100;
    private IChangeFeedSubscriber[]? _subscribers;
    private long _nextPruneAt;

    // resolved late: subscribers live in higher folders and may depend on services that depend on the flag service
    private IChangeFeedSubscriber[] Subscribers => _subscribers ??= services.GetServices<IChangeFeedSubscriber>().ToArray();

    /// <summary>
    /// Fault injection for tests (<c>ChangeFeed:DispatchAfterCommit=false</c>): the writer commits and answers but never
    /// dispatches, exactly what a crash right after the commit leaves behind.
    /// </summary>
    private bool DispatchAfterCommit => options.Value.DispatchAfterCommit;

    /// <summary>The writer's own committed entry, dispatched under the lease it took when it wrote the outbox row.</summary>
    public async Task DispatchCommittedAsync(FeedEntry entry, CancellationToken ct)
    {
        if (!DispatchAfterCommit) return;
        await DeliverAsync(entry, ct);
    }

    /// <summary>Delivers to every subscriber; marks the row dispatched when all of them took it, else leaves it for a retry after its lease.</summary>
    private async Task DeliverAsync(FeedEntry entry, CancellationToken ct)
    {
        var failed = false;
        foreach (var subscriber in Subscribers)
        {
            try
            {
                await subscriber.OnChangeAsync(entry, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                failed = true;
                LogSubscriberFailed(e, subscriber.GetType().Name, entry.Revision);
            }
        }
        if (failed) return;
        try
        {
            await using var conn = await db.OpenAsync(CancellationToken.None);
            await conn.ExecAsync(null, "UPDATE flag_outbox SET dispatched_at = @now WHERE revision = @revision",
                new { now = Time.ToMs(clock.GetUtcNow()), revision = entry.Revision }, CancellationToken.None);
        }
        catch (Exception e)
        {
            // delivered but not marked: another replica delivers it again after the lease (at least once)
            LogMarkFailed(e, entry.Revision);
        }
    }

    /// <summary>Claims and dispatches every row whose lease ran out; returns how many this replica dispatched.</summary>
    public async Task<int> DrainExpiredAsync(CancellationToken ct)
    {
        var dispatched = 0;
        while (true)
        {
            var now = Time.ToMs(clock.GetUtcNow());
            List<OutboxRow> rows;
            await using (var conn = await db.OpenAsync(ct))
                rows = await conn.ListAsync<OutboxRow>(null, """
                    SELECT revision, payload FROM flag_outbox WHERE dispatched_at IS NULL AND lease_until < @now ORDER BY revision LIMIT @take
                    """, new { now, take = Batch }, ct);
            foreach (var row in rows)
            {
                int claimed;
                await using (var conn = await db.OpenAsync(ct))
                    claimed = await conn.ExecAsync(null, """
                        UPDATE flag_outbox SET lease_owner = @replica, lease_until = @until
                        WHERE revision = @revision AND dispatched_at IS NULL AND lease_until < @now
                        """, new { replica = feed.Replica, until = now + feed.LeaseMs, revision = row.Revision, now }, ct);
                if (claimed == 0) continue; // another replica took it
                var entry = Json.Deserialize<FeedEntry>(row.Payload)!;
                LogTakenOver(entry.Revision);
                await DeliverAsync(entry, ct);
                dispatched++;
            }
            if (rows.Count < Batch) return dispatched;
        }
    }

    /// <summary>Rows not yet dispatched (for health).</summary>
    public async Task<long> UndispatchedAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ScalarAsync<long>(null, "SELECT COUNT(*) FROM flag_outbox WHERE dispatched_at IS NULL", null, ct);
    }

    private sealed class OutboxRow
    {
        public long Revision { get; set; }
        public string Payload { get; set; } = "";
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.05, options.Value.DrainSeconds)), clock);
        do
        {
            try
            {
                await DrainExpiredAsync(ct);
                await PruneAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogDrainFailed(e);
            }
        } while (await WaitAsync(timer, ct));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PruneAsync(CancellationToken ct)
    {
        var now = Time.ToMs(clock.GetUtcNow());
        if (now < _nextPruneAt) return;
        _nextPruneAt = now + 60_000;
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecAsync(null, "DELETE FROM flag_outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < @cutoff",
            new { cutoff = now - (long)(options.Value.RetentionMinutes * 60_000) }, ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Change feed subscriber {Subscriber} failed on revision {Revision}; the row is dispatched again after its lease")]
    private partial void LogSubscriberFailed(Exception e, string subscriber, long revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marking revision {Revision} dispatched failed; it may be dispatched again")]
    private partial void LogMarkFailed(Exception e, long revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} was committed but not dispatched within its lease (its writer died or a subscriber failed); dispatching it here")]
    private partial void LogTakenOver(long revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Draining the change outbox failed; retried")]
    private partial void LogDrainFailed(Exception e);
}

/// <summary>The live events of a change: the flag event (created, updated, deleted) and <c>flag.changed</c> with the change and its revision.</summary>
internal sealed class LiveChangeSubscriber(ILiveEventPublisher live) : IChangeFeedSubscriber
{
    public async ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct)
    {
        var change = entry.Change;
        var flagEvent = change.ChangeType switch
        {
            ChangeType.Created => LiveEventTypes.FlagCreated,
            ChangeType.Deleted => LiveEventTypes.FlagDeleted,
            _ => LiveEventTypes.FlagUpdated,
        };
        var environment = entry.Flag.TargetEnvironment;
        await live.PublishAsync(new LiveEvent(flagEvent, entry.Flag, change.FlagId) { Environment = environment }, ct);
        await live.PublishAsync(new LiveEvent(LiveEventTypes.FlagChanged, change, change.FlagId) { Environment = environment }, ct);
    }
}

/// <summary>Hands the writer's prediction on for refinement (an entry dispatched by another process carries none).</summary>
internal sealed class RefinementSubscriber(IChangePredictor predictions) : IChangeFeedSubscriber
{
    public async ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct)
    {
        if (entry.Prediction is { } p) await predictions.AfterCommitAsync(p, ct);
    }
}
