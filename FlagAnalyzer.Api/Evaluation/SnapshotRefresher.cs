using System.Globalization;
using FlagAnalyzer.Api.Flags;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Evaluation;

public sealed class EvaluationOptions
{
    /// <summary>
    /// <c>Evaluation:FeedPollMilliseconds</c>: how often the snapshot looks for new revisions when nothing woke it — the
    /// safety net behind the Redis announcement and PostgreSQL's notification, and so the bound on how stale another
    /// replica's change can be here while both are lost (a stalled Redis, a listener reconnecting).
    /// </summary>
    public int FeedPollMilliseconds { get; set; } = 500;

    /// <summary><c>Evaluation:ExposureFlushSeconds</c>: how often counted exposures are written, one transaction per flush.</summary>
    public int ExposureFlushSeconds { get; set; } = 10;

    /// <summary><c>Evaluation:CorsOrigins</c>: browser origins allowed to call OFREP; none by default.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary><c>Evaluation:RequestsPerSecond</c>: OFREP requests per second per caller before 429; 0 = no limit.</summary>
    public int RequestsPerSecond { get; set; }
}

/// <summary>
/// Keeps this replica's snapshot on the change feed: a full load before the API serves, then every revision after it, in
/// order (<see cref="FlagSnapshotStore.FollowAsync"/>), whenever something says there is one — the Redis announcement
/// (<see cref="ChangeFeed.AnnounceChannel"/>), PostgreSQL's commit notification (<see cref="FlagChangeListener"/>), this
/// replica's own commit — and at the latest every <see cref="EvaluationOptions.FeedPollMilliseconds"/>. A lost
/// announcement costs at most one poll interval; nothing is reconciled, the revision says what is missing.
/// </summary>
internal sealed partial class SnapshotRefresher(FlagSnapshotStore store, IServiceProvider services, IOptions<EvaluationOptions> options,
    ILogger<SnapshotRefresher> log) : BackgroundService
{
    private IConnectionMultiplexer? _redis;
    private int _subscribed;

    public override async Task StartAsync(CancellationToken ct)
    {
        await store.ReloadAsync(ct);
        _redis = services.GetService<IConnectionMultiplexer>();
        if (_redis is not null)
        {
            _redis.ConnectionRestored += OnRestored;
            await TrySubscribeAsync();
        }
        await base.StartAsync(ct);
    }

    /// <summary>Subscribes once; when Redis is away at start-up, again when it comes back (the multiplexer keeps it after that).</summary>
    private async Task TrySubscribeAsync()
    {
        if (_redis is null || Interlocked.CompareExchange(ref _subscribed, 1, 0) != 0) return;
        try
        {
            var queue = await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(ChangeFeed.AnnounceChannel)).WaitAsync(TimeSpan.FromSeconds(2));
            queue.OnMessage(m =>
            {
                // a revision this snapshot already reflects (our own, usually) needs no read
                if (!long.TryParse(m.Message.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var revision) || revision > store.Revision)
                    store.Wake();
            });
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Volatile.Write(ref _subscribed, 0);
            LogNoSubscription(e);
        }
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _ = TrySubscribeAsync();
        store.Wake(); // announcements made while we were away are lost; the revision tells what they were
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var poll = TimeSpan.FromMilliseconds(Math.Max(10, options.Value.FeedPollMilliseconds));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await store.WaitForWakeAsync(poll, ct);
                await store.FollowAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogFollowFailed(e);
            }
        }
    }

    public override void Dispose()
    {
        if (_redis is not null) _redis.ConnectionRestored -= OnRestored;
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not subscribed to change feed announcements (Redis unavailable); until it returns the snapshot follows the feed by polling")]
    private partial void LogNoSubscription(Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Following the change feed failed; the previous snapshot is still served and the next poll retries")]
    private partial void LogFollowFailed(Exception e);
}

/// <summary>
/// The cross-replica announcement: publishes each dispatched revision on Redis (<see cref="ChangeFeed.AnnounceChannel"/>),
/// so the other replicas read it at once instead of at their next poll. Fire and forget: a stalled Redis must not hold up
/// the write that is being answered, and a lost announcement only costs one poll interval.
/// </summary>
internal sealed class FeedAnnouncer(IServiceProvider services) : IChangeFeedSubscriber
{
    private readonly IConnectionMultiplexer? _redis = services.GetService<IConnectionMultiplexer>();

    public ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct)
    {
        if (_redis is { IsConnected: true } redis)
        {
            try
            {
                redis.GetSubscriber().Publish(RedisChannel.Literal(ChangeFeed.AnnounceChannel),
                    entry.Revision.ToString(CultureInfo.InvariantCulture), CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
                // the poll covers it
            }
        }
        return ValueTask.CompletedTask;
    }
}
