using FlagAnalyzer.Api.Flags;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Evaluation;

public sealed class EvaluationOptions
{
    /// <summary><c>Evaluation:SnapshotRefreshSeconds</c>: the safety-net reload from SQLite, in case an announcement was lost.</summary>
    public int SnapshotRefreshSeconds { get; set; } = 30;

    /// <summary><c>Evaluation:ExposureFlushSeconds</c>: how often counted exposures are written, one transaction per flush.</summary>
    public int ExposureFlushSeconds { get; set; } = 10;

    /// <summary><c>Evaluation:CorsOrigins</c>: browser origins allowed to call OFREP; none by default.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary><c>Evaluation:RequestsPerSecond</c>: OFREP requests per second per caller before 429; 0 = no limit.</summary>
    public int RequestsPerSecond { get; set; }
}

/// <summary>
/// Keeps the snapshot current: loads it before the API serves, reloads it when another replica announces a flag
/// change on the flag cache's Redis channel, when Redis comes back (announcements may have been lost), and
/// every <see cref="EvaluationOptions.SnapshotRefreshSeconds"/>.
/// </summary>
internal sealed partial class SnapshotRefresher(FlagSnapshotStore store, IServiceProvider services, IOptions<EvaluationOptions> options,
    ILogger<SnapshotRefresher> log) : BackgroundService
{
    private IConnectionMultiplexer? _redis;
    private int _subscribed;

    public override async Task StartAsync(CancellationToken ct)
    {
        await store.ReloadAsync(ct);
        _redis = services.GetService<RedisFlagCache>() is not null ? services.GetService<IConnectionMultiplexer>() : null;
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
            var queue = await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisFlagCache.Channel));
            queue.OnMessage(OnAnnouncement);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Volatile.Write(ref _subscribed, 0);
            LogNoSubscription(e);
        }
    }

    private void OnAnnouncement(ChannelMessage m)
    {
        if (NeedsReload((string?)m.Message ?? "", store.Holds)) store.RequestReload();
    }

    /// <summary>
    /// Whether a message on the flag cache's channel announces a change this snapshot does not hold yet:
    /// <c>replica|id|version|names…</c> as RedisFlagCache publishes a write (our own are already applied), never the
    /// cache's heartbeats (<c>hb|replica|timestamp</c>, several a second from every replica).
    /// </summary>
    internal static bool NeedsReload(string message, Func<string, long, bool> holds)
    {
        var parts = message.Split('|');
        if (parts[0] == RedisFlagCache.HeartbeatTag) return false;
        return !(parts.Length >= 3 && long.TryParse(parts[2], out var version) && holds(parts[1], version));
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _ = TrySubscribeAsync();
        store.RequestReload(); // announcements made while we were away are lost
    }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromSeconds(Math.Max(1, options.Value.SnapshotRefreshSeconds));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await store.WaitForReloadRequestAsync(period, ct);
                await store.ReloadAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogReloadFailed(e);
            }
        }
    }

    public override void Dispose()
    {
        if (_redis is not null) _redis.ConnectionRestored -= OnRestored;
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not subscribed to flag announcements (Redis unavailable); until it returns the snapshot refreshes on its timer only")]
    private partial void LogNoSubscription(Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading the flag snapshot failed; the previous snapshot is still served")]
    private partial void LogReloadFailed(Exception e);
}

/// <summary>
/// Wraps the flag cache so that every committed write, which the flag service hands to the cache after its
/// commit, also swaps the snapshot. Reads pass through.
/// </summary>
internal sealed class SnapshotUpdatingFlagCache(IFlagCache inner, FlagSnapshotStore store) : IFlagCache
{
    /// <summary>The cache this one passes every call to (Redis, in-process or none).</summary>
    public IFlagCache Inner => inner;

    public ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default) => inner.GetAsync(idOrName, ct);

    public async ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default)
    {
        store.Apply(flag);
        await inner.SetAsync(flag, previousName, ct);
    }

    public async ValueTask RemoveAsync(Flag flag, CancellationToken ct = default)
    {
        store.Remove(flag);
        await inner.RemoveAsync(flag, ct);
    }

    /// <summary>
    /// A read's cache fill is not a write: it passes to the inner cache's fill (which never brings back a flag deleted
    /// meanwhile) and leaves the snapshot alone, which only committed writes and announcements move.
    /// </summary>
    public ValueTask FillAsync(Flag flag, CancellationToken ct = default) => inner.FillAsync(flag, ct);
}
