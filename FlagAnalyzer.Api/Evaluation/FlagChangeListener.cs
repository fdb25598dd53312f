using System.Collections.Concurrent;
using System.Diagnostics;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>Whether this replica hears PostgreSQL's flag notifications, since when, and why not.</summary>
public sealed record FlagListenerState(bool Listening, string Detail, DateTimeOffset Since);

/// <summary>
/// On PostgreSQL, one dedicated connection per replica that <c>LISTEN</c>s to <see cref="FlagNotification.Channel"/>, on
/// which every flag write transaction announces itself at commit (<see cref="FlagStore"/>). Redis announcements come from
/// the writer after its commit, so a writer that dies in between (or whose Redis link is down, holding the write for a
/// replay that dies with it) leaves the others on the old flag; the database's notification does not depend on the writer.
/// <list type="bullet">
/// <item>A notification this replica already has — its snapshot holds the version and Redis is known to (the writer's
/// write-through, or its announcement, came first: the normal case) — costs nothing: no query, no Redis call.</item>
/// <item>Otherwise, after a grace of a few Redis deadlines (time for the writer's own write-through to land), the flag is
/// read from the database by id and swapped into the snapshot (which never moves backwards nor revives a deleted flag),
/// and Redis gets a version-guarded fill (<see cref="RedisFlagCache.RepairAsync"/>) or, for a delete, its tombstone. Every
/// replica hears the same notification: the version guard and the tombstone make the repairs idempotent.</item>
/// <item>The connection is checked when idle and reopened with backoff; after every (re)connect the snapshot reloads,
/// since what was committed while nobody listened was announced to nobody. <c>/health</c> shows it
/// (<c>flag-notifications</c>: Degraded while not listening, with the reason), and each transition is logged once.</item>
/// </list>
/// </summary>
public sealed partial class FlagChangeListener(Db db, NpgsqlDataSource dataSource, FlagSnapshotStore store, IServiceProvider services,
    IOptions<FlagCacheOptions> cacheOptions, TimeProvider clock, ILogger<FlagChangeListener> log) : BackgroundService
{
    /// <summary>The listening session's <c>application_name</c>, so an operator (or a test) can find it in <c>pg_stat_activity</c>.</summary>
    public const string ApplicationName = "flaganalyzer-listen";

    // an idle connection is proved alive this often: a peer gone without a FIN leaves WaitAsync waiting forever
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private sealed record Pending(FlagNotification Notification, long DueAt);

    // flag id → the newest notification not yet found held or repaired
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _arrived = new(0, 1);
    private readonly Lock _stateGate = new();
    private RedisFlagCache? _redis;
    private TimeSpan _grace;
    private volatile FlagListenerState _state = new(false, "not connected yet", clock.GetUtcNow());
    private bool _failedSinceStart;

    public FlagListenerState State => _state;

    /// <summary>Raised on every change of <see cref="FlagListenerState.Listening"/> (tests wait on it instead of polling health).</summary>
    public event Action<FlagListenerState>? StateChanged;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        _redis = services.GetService<RedisFlagCache>();
        // the writer's write-through normally lands within one Redis deadline; without Redis nothing else will tell us
        _grace = _redis is null ? TimeSpan.Zero : 4 * cacheOptions.Value.RedisTimeout;
        var repairs = RepairLoopAsync(ct);
        var backoff = FirstBackoff;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(() => backoff = FirstBackoff, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                NotListening(e);
            }
            try
            {
                await Task.Delay(backoff, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(2 * backoff.Ticks, MaxBackoff.Ticks));
        }
        await repairs;
    }

    private async Task ListenAsync(Action connected, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        conn.Notification += OnNotification;
        try
        {
            await using (var listen = new NpgsqlCommand($"SET application_name = '{ApplicationName}'; LISTEN {FlagNotification.Channel}", conn))
                await listen.ExecuteNonQueryAsync(ct);
            Listening();
            connected();
            // whatever was committed while this replica was not listening was announced to nobody here
            store.RequestReload();
            while (true)
            {
                if (await conn.WaitAsync(IdleCheck, ct)) continue;
                await using var ping = new NpgsqlCommand("SELECT 1", conn) { CommandTimeout = 5 };
                await ping.ExecuteScalarAsync(ct);
            }
        }
        finally
        {
            conn.Notification -= OnNotification;
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (FlagNotification.Parse(e.Payload) is not { } n)
        {
            LogUnreadable(e.Payload);
            return;
        }
        var due = Stopwatch.GetTimestamp() + (long)(_grace.TotalSeconds * Stopwatch.Frequency);
        // a delete is final (ids are never reused); otherwise the newest version stands for the older ones
        _pending.AddOrUpdate(n.FlagId, new Pending(n, due),
            (_, held) => held.Notification.Deleted || !n.Deleted && held.Notification.Version >= n.Version ? held : new Pending(n, due));
        try { _arrived.Release(); }
        catch (SemaphoreFullException) { } // the loop is already woken
    }

    private async Task RepairLoopAsync(CancellationToken ct)
    {
        var retry = (long)(Math.Max(1, _grace.TotalSeconds) * Stopwatch.Frequency);
        while (!ct.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            var next = long.MaxValue;
            foreach (var (id, p) in _pending)
            {
                if (p.DueAt > now)
                {
                    next = Math.Min(next, p.DueAt);
                    continue;
                }
                bool done;
                try
                {
                    done = await HandleAsync(p.Notification, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    LogRepairFailed(e, id);
                    done = false;
                }
                // only what was handled: a newer notification that arrived meanwhile stays
                if (done) _pending.TryRemove(new KeyValuePair<string, Pending>(id, p));
                else if (_pending.TryUpdate(id, p with { DueAt = now + retry }, p)) next = Math.Min(next, now + retry);
            }
            var wait = next == long.MaxValue ? Timeout.InfiniteTimeSpan : Stopwatch.GetElapsedTime(now, Math.Max(now, next));
            try
            {
                await _arrived.WaitAsync(wait, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>True when this replica's snapshot and Redis now have the notified state (or Redis has it on hold for replay).</summary>
    private async Task<bool> HandleAsync(FlagNotification n, CancellationToken ct)
    {
        if (n.Deleted)
        {
            if (!store.Contains(n.FlagId) && (_redis is null || _redis.Holds(n.FlagId, RedisFlagCache.DeletedVersion))) return true;
            var gone = new Flag { Id = n.FlagId, Name = n.Name ?? "", Version = n.Version };
            store.Remove(gone);
            // a tombstone is never wrong: written now, or held and replayed when Redis answers
            if (_redis is not null && !_redis.Holds(n.FlagId, RedisFlagCache.DeletedVersion))
            {
                await _redis.RemoveAsync(gone, ct);
                LogRepairedDelete(n.FlagId);
            }
            return true;
        }

        var inSnapshot = store.Holds(n.FlagId, n.Version);
        var inRedis = _redis is null || _redis.Holds(n.FlagId, n.Version);
        if (inSnapshot && inRedis) return true;
        if (inSnapshot && !_redis!.Trusted) return false; // nothing to read for: Redis cannot take a fill yet
        Flag? flag;
        await using (var conn = await db.OpenAsync(ct))
            flag = await FlagStore.FindAsync(conn, null, n.FlagId, ct);
        if (flag is null || flag.Id != n.FlagId) return true; // deleted since: its own notification follows
        store.Apply(flag);
        var repaired = _redis is null || await _redis.RepairAsync(flag);
        if (!inRedis) LogRepaired(flag.Id, flag.Version);
        return repaired;
    }

    private void Listening()
    {
        FlagListenerState now;
        lock (_stateGate)
        {
            if (_state.Listening) return;
            _failedSinceStart = false;
            _state = now = new FlagListenerState(true, $"listening on PostgreSQL channel {FlagNotification.Channel}", clock.GetUtcNow());
        }
        LogListening(db.Description, FlagNotification.Channel);
        StateChanged?.Invoke(now);
    }

    private void NotListening(Exception e)
    {
        FlagListenerState now;
        var reason = e.Message;
        lock (_stateGate)
        {
            var was = _state;
            // still down: the newest reason, the same since, no new log line
            _state = now = new FlagListenerState(false, reason, was.Listening ? clock.GetUtcNow() : was.Since);
            var quiet = !was.Listening && _failedSinceStart;
            _failedSinceStart = true;
            if (quiet) return;
        }
        LogNotListening(e, db.Description);
        StateChanged?.Invoke(now);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for flag changes on {Database} (channel {Channel})")]
    private partial void LogListening(string database, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not listening for flag changes on {Database}; reconnecting. Until then other replicas' changes arrive through Redis and the periodic reload only")]
    private partial void LogNotListening(Exception e, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable flag notification '{Payload}' ignored")]
    private partial void LogUnreadable(string payload);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repairing flag {FlagId} from its notification failed; retried")]
    private partial void LogRepairFailed(Exception e, string flagId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Flag {FlagId} version {Version} was committed but never reached Redis (its writer died or lost Redis); repaired from the database")]
    private partial void LogRepaired(string flagId, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Flag {FlagId} was deleted but the delete never reached Redis (its writer died or lost Redis); tombstoned")]
    private partial void LogRepairedDelete(string flagId);
}

/// <summary><c>flag-notifications</c> in <c>/health</c> (PostgreSQL only): Degraded, with the reason, while this replica does not listen.</summary>
internal sealed class FlagChangeListenerHealthCheck(FlagChangeListener listener, IOptions<EvaluationOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var s = listener.State;
        return Task.FromResult(s.Listening
            ? HealthCheckResult.Healthy(s.Detail)
            : HealthCheckResult.Degraded($"degraded: not listening for flag changes on PostgreSQL since {s.Since:HH:mm:ss.fff}Z ({s.Detail}); " +
                $"other replicas' changes arrive through Redis and the {options.Value.SnapshotRefreshSeconds} s reload only"));
    }
}
