using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// Turns committed events into delivery rows, one per matching webhook, in the order they committed. It follows two
/// sources by position, each committed as a gap-free prefix: the change feed's outbox by revision (flag events) and the
/// notice outbox by seq (<see cref="WebhookOutbox"/>). Each pass locks the cursors row (PostgreSQL; SQLite has one
/// writer), reads what committed after them, inserts the deliveries and moves the cursors in one transaction — so on any
/// replica, with any number of concurrent writers, a webhook's deliveries are queued in revision order and in notice order,
/// and a pass that dies queues nothing (the next one starts from the same cursors; the dedupe key absorbs a repeat).
/// Passes run when a revision is dispatched (<see cref="PumpThroughAsync"/>), when a notice is enlisted, and every
/// <see cref="WebhookOptions.PollSeconds"/> (notices of other replicas, a writer that died).
/// </summary>
public sealed class WebhookPump(Db db, WebhookPayloads payloads, WebhookSignal signal, TimeProvider clock, IOptions<WebhookOptions> options,
    ILogger<WebhookPump> log) : BackgroundService
{
    private const int Batch = 500;
    /// <summary>Queued notices are kept this long (for the delivery log they are copied into the deliveries anyway).</summary>
    private static readonly TimeSpan NoticeRetention = TimeSpan.FromHours(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private long _flagsReached = -1;
    private long _nextPruneAt;

    /// <summary>Returns once the deliveries of every revision up to <paramref name="revision"/> are queued (by this pass or an earlier one).</summary>
    public async Task PumpThroughAsync(long revision, CancellationToken ct)
    {
        while (Volatile.Read(ref _flagsReached) < revision)
        {
            await _gate.WaitAsync(ct);
            try
            {
                // a pass that ran while this call waited for the gate may already have covered the revision
                if (Volatile.Read(ref _flagsReached) >= revision) return;
                var before = _flagsReached;
                var (reached, full) = await PassAsync(ct);
                if (reached < revision && !full && reached == before)
                    throw new InvalidOperationException($"Revision {revision} is not in the change feed's outbox after {reached}; retried after its lease.");
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>A notice was enlisted in a transaction that commits soon: look shortly after, and again a little later.</summary>
    public void Nudge()
    {
        _ = Task.Delay(25).ContinueWith(_ => Wake(), TaskScheduler.Default);
        _ = Task.Delay(250).ContinueWith(_ => Wake(), TaskScheduler.Default);
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
            try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(0.05, options.Value.PollSeconds));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _gate.WaitAsync(ct);
                try
                {
                    while ((await PassAsync(ct)).Full) { }
                }
                finally
                {
                    _gate.Release();
                }
                await _wake.WaitAsync(poll, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Queueing webhook deliveries failed; retried");
                try { await Task.Delay(poll, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One pass (the caller holds the gate): the revision the flag cursor reached, and whether a source had more than a batch.</summary>
    private async Task<(long Reached, bool Full)> PassAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var queued = 0;
        long flagsAt, noticesAt;
        bool full;
        await using (var s = await WebhookStore.BeginAsync(db, ct))
        {
            (flagsAt, noticesAt) = await WebhookStore.LockCursorsAsync(s, ct);
            List<FeedEntry> entries;
            // the feed's own reader, on a connection of its own (the cursor transaction cannot lend it on SQLite): it sees
            // what committed, and revisions commit in order, so this is everything up to some revision
            await using (DbConnection read = await db.OpenAsync(ct))
                entries = await ChangeFeed.ReadAfterAsync(read, flagsAt, Batch, ct);
            var notices = await WebhookStore.NoticesAfterAsync(s, noticesAt, Batch, ct);
            full = entries.Count == Batch || notices.Count == Batch;
            if (entries.Count == 0 && notices.Count == 0)
            {
                Volatile.Write(ref _flagsReached, Math.Max(_flagsReached, flagsAt));
                return (flagsAt, false);
            }
            var hooks = await WebhookStore.EnabledAsync(s.Connection, s.Transaction, ct);
            var nowMs = Time.ToMs(now);
            foreach (var e in entries)
                queued += await QueueAsync(s, hooks, payloads.FromFeed(e), nowMs, ct);
            foreach (var n in notices)
                queued += await QueueAsync(s, hooks, payloads.FromNotice(n), nowMs, ct);
            if (entries.Count > 0) flagsAt = entries[^1].Revision;
            if (notices.Count > 0) noticesAt = notices[^1].Seq;
            await WebhookStore.MoveCursorsAsync(s, flagsAt, noticesAt, ct);
            if (nowMs >= _nextPruneAt)
            {
                _nextPruneAt = nowMs + 60_000;
                await WebhookStore.PruneNoticesAsync(s, noticesAt, Time.ToMs(now - NoticeRetention), ct);
            }
            await s.CommitAsync(ct);
        }
        Volatile.Write(ref _flagsReached, flagsAt);
        if (queued > 0)
        {
            log.LogDebug("Queued {Count} webhook deliveries (flag feed at revision {Revision}, notices at {Seq})", queued, flagsAt, noticesAt);
            signal.Wake();
        }
        return (flagsAt, full);
    }

    private async Task<int> QueueAsync(WriteScope s, List<Webhook> hooks, WebhookPayload payload, long nowMs, CancellationToken ct)
    {
        var queued = 0;
        string? json = null, slack = null;
        foreach (var w in hooks)
        {
            if (!w.Events.Contains(payload.Type)) continue;
            if (w.Environments is { } envs && (payload.Environment is null || !envs.Contains(payload.Environment))) continue;
            var body = w.Format == WebhookFormats.Slack ? slack ??= Json.Serialize(new { text = payload.Text }) : json ??= Json.Serialize(payload);
            if (await WebhookStore.EnqueueAsync(s, w.Id, payload.Id, payload.Type, body, nowMs, clock, ct)) queued++;
        }
        return queued;
    }
}

/// <summary>
/// <see cref="IEventOutbox"/>: a notice is a row of <c>webhook_notices</c> written in the caller's transaction (so it exists
/// exactly when what it reports committed), queued to webhooks by <see cref="WebhookPump"/> after that commit.
/// </summary>
internal sealed class WebhookOutbox(WebhookPump pump, TimeProvider clock) : IEventOutbox
{
    public async Task EnlistAsync(DbConnection connection, DbTransaction transaction, NoticeEvent notice, CancellationToken ct)
    {
        await WebhookStore.EnlistNoticeAsync(connection, transaction, new NoticeRow
        {
            Type = notice.Type, Environment = notice.Environment, FlagId = notice.FlagId, FlagKey = notice.FlagKey, FlagName = notice.FlagName,
            Actor = notice.Actor, Data = notice.Data.ValueKind == System.Text.Json.JsonValueKind.Undefined ? "{}" : notice.Data.GetRawText(),
            At = Time.ToMs(notice.At == default ? clock.GetUtcNow() : notice.At),
        }, ct);
        pump.Nudge();
    }
}
