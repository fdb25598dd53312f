using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FlagAnalyzer.Api.Common;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// The flag cache shared by every API replica (the seed's KV <c>FLAG_CACHE</c>), in Redis.
/// <list type="bullet">
/// <item>Each flag is a hash <c>flaganalyzer:flag:{id}</c> (<c>v</c> = version, <c>json</c> = the flag) plus
/// <c>flaganalyzer:flag-name:{name}</c> → id. Writes are version-guarded Lua scripts, so an older flag
/// (a slow cache fill racing a change) never overwrites a newer one, and a deleted flag leaves a
/// tombstone for a day so it cannot be filled back.</item>
/// <item>Each replica keeps a local copy of what it read; every accepted write publishes
/// <c>replica|id|version|names…</c> on <see cref="Channel"/> from inside the same script, and the other
/// replicas drop their copy.</item>
/// <item>Every Redis call has a short deadline (<see cref="FlagCacheOptions.RedisTimeout"/>) behind a circuit
/// breaker (<see cref="RedisCircuit"/>): the first timeout — a stalled Redis (SIGSTOP, a network blackhole)
/// answers nothing, it does not fail — opens it, and until a background PING succeeds every read is
/// "unavailable" (the caller reads SQLite) and every write-through waits in memory, at no cost to the request.</item>
/// <item>The committed state wins on the writer at once: a write puts the new version in the local copy before
/// it tries Redis. Missed write-throughs are replayed as soon as Redis answers again; until this replica's are
/// replayed and every replica had time to replay theirs (<see cref="SettleTime"/>), reads go to SQLite.</item>
/// <item>The local copy is trusted only under a lease: every <see cref="FlagCacheOptions.ProbeInterval"/> the
/// replica publishes a heartbeat on the invalidation channel, and it uses the copy only while its own
/// heartbeat came back within <see cref="FlagCacheOptions.LocalCopyLease"/> — Redis delivers one subscriber's
/// messages in order, so every invalidation published before that heartbeat has arrived. A replica that
/// cannot be sure its copy is current reads SQLite, never the copy.</item>
/// </list>
/// Never throws: a cache that is down is a miss.
/// </summary>
public sealed class RedisFlagCache : IFlagCache, IDisposable
{
    internal const string FlagKeyPrefix = "flaganalyzer:flag:";
    internal const string NameKeyPrefix = "flaganalyzer:flag-name:";
    internal const string Channel = "flaganalyzer:flag-invalidations";
    // above any real version and exact in Lua's doubles
    private const long Deleted = (1L << 53) - 1;

    private const string GetScript = """
        local json = redis.call('HGET', KEYS[1], 'json')
        if json then return json end
        if redis.call('EXISTS', KEYS[1]) == 1 then return false end
        local id = redis.call('GET', KEYS[2])
        if not id then return false end
        return redis.call('HGET', ARGV[1] .. id, 'json')
        """;

    // KEYS: flag, name, previous name; ARGV: version, json, id, replica, channel, name, previous name
    private const string SetScript = """
        local held = tonumber(redis.call('HGET', KEYS[1], 'v'))
        if held and held >= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'json', ARGV[2])
        if KEYS[3] ~= KEYS[2] and redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
        redis.call('SET', KEYS[2], ARGV[3])
        redis.call('PUBLISH', ARGV[5], ARGV[4] .. '|' .. ARGV[3] .. '|' .. ARGV[1] .. '|' .. ARGV[6] .. '|' .. ARGV[7])
        return 1
        """;

    // KEYS: flag, name; ARGV: tombstone version, id, replica, channel, name
    private const string RemoveScript = """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'v', ARGV[1])
        redis.call('EXPIRE', KEYS[1], 86400)
        if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
        redis.call('PUBLISH', ARGV[4], ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[5])
        return 1
        """;

    /// <summary>The first field of a heartbeat on the invalidation channel (<c>hb|replica|timestamp</c>): not a change.</summary>
    public const string HeartbeatTag = "hb";

    private readonly IConnectionMultiplexer _redis;
    private readonly ILogger<RedisFlagCache> _log;
    private readonly TimeProvider _clock;
    private readonly string _replica = Guid.NewGuid().ToString("N");
    private readonly FlagCacheLocalCopy _local = new();
    // write-throughs Redis missed while away, newest per flag id; replayed when it returns
    private readonly ConcurrentDictionary<string, PendingWrite> _pending = new(StringComparer.Ordinal);
    // per flag id, the newest version Redis is known to hold (Deleted for a tombstone): a write-through, fill or removal
    // this replica made there, or another replica's announcement of one
    private readonly ConcurrentDictionary<string, long> _inRedis = new(StringComparer.Ordinal);
    private readonly RedisCircuit _circuit;
    private readonly bool _useLocalCopy;
    private readonly TimeSpan _probeInterval;
    private readonly long _leaseTicks;
    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private int _subscribing;
    private int _replaying;
    private volatile bool _subscribed;
    // timestamp (this process's Stopwatch) of the newest own heartbeat that came back through the subscription
    private long _heardAt;
    // reads trust Redis again only from this timestamp on (after an outage: time for every replica to replay)
    private long _settledAt;

    private sealed record PendingWrite(Flag Flag, string? PreviousName, bool Removed);

    public RedisFlagCache(IConnectionMultiplexer redis, IOptions<FlagCacheOptions> options, ILogger<RedisFlagCache> log,
        TimeProvider clock)
    {
        _redis = redis;
        _log = log;
        _clock = clock;
        var o = options.Value;
        _useLocalCopy = o.LocalCopy;
        _probeInterval = o.ProbeInterval;
        _leaseTicks = (long)(o.LocalCopyLease.TotalSeconds * clock.TimestampFrequency);
        _circuit = new RedisCircuit(o.RedisTimeout);
        _circuit.Opened += OnCircuitOpened;
        SettleTime = 2 * o.ProbeInterval + o.RedisTimeout;
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>
    /// After Redis returns, how long reads keep going to SQLite: two probe intervals and a timeout, time for every
    /// replica that can reach Redis to notice and replay the writes it could not hand over.
    /// </summary>
    public TimeSpan SettleTime { get; }

    /// <summary>True while Redis calls fail fast (Redis stopped answering and no probe has succeeded since).</summary>
    public bool CircuitOpen => _circuit.IsOpen;

    /// <summary>When the circuit last opened.</summary>
    public DateTimeOffset CircuitOpenedAt => _circuit.OpenedAt;

    /// <summary>Subscribes to invalidations (at start-up, so the first reads can use the local copy) and starts the probe.</summary>
    public async Task StartAsync()
    {
        if (!_redis.IsConnected)
        {
            _log.LogWarning("Redis at {Endpoint} is not reachable; flag reads come from SQLite until it is.", Endpoint);
            _circuit.Trip(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "not connected at start-up"));
        }
        await TrySubscribeAsync();
        _watch = WatchAsync(_stop.Token);
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _watch;
    }

    /// <summary><c>host:port</c> of the configured Redis, for health and logs.</summary>
    public string Endpoint => string.Join(",", _redis.GetEndPoints().Select(e => e switch
    {
        DnsEndPoint d => $"{d.Host}:{d.Port}",
        _ => e.ToString() ?? "?",
    }));

    public bool IsConnected => _redis.IsConnected;

    // Redis holds every write this replica committed, and every other replica had time to hand over theirs
    private bool RedisTrusted => !_circuit.IsOpen && _redis.IsConnected && _pending.IsEmpty
                                 && _clock.GetTimestamp() >= Volatile.Read(ref _settledAt);

    /// <summary>Whether a fill would be offered to Redis now (see <see cref="FillAsync"/>).</summary>
    public bool Trusted => RedisTrusted;

    // the local copy is only trusted while invalidations provably reach it: an own heartbeat came back recently
    private bool LocalCopyUsable => _useLocalCopy && _subscribed
                                    && _clock.GetTimestamp() - Volatile.Read(ref _heardAt) < _leaseTicks
                                    && _redis.GetSubscriber().IsConnected(InvalidationChannel);

    private static readonly RedisChannel InvalidationChannel = RedisChannel.Literal(Channel);

    /// <summary>A PING with the cache's deadline; false (and the circuit open) when Redis does not answer in time.</summary>
    public async Task<bool> PingAsync()
    {
        if (_circuit.IsOpen || !_redis.IsConnected) return false;
        try
        {
            await _circuit.CallAsync(_redis.GetDatabase().PingAsync());
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag-cache get");
        span?.SetTag(FlagCacheTelemetry.FlagTag, idOrName);
        if (!RedisTrusted) return Unavailable(span, _circuit.IsOpen ? "circuit_open" : !_redis.IsConnected ? "disconnected" : "settling");
        if (!_subscribed) _ = TrySubscribeAsync(); // Redis was away at start-up and is here now
        if (LocalCopyUsable && _local.TryGet(idOrName, out var local)) return Result(span, "local", local);
        try
        {
            var json = (string?)await _circuit.CallAsync(_redis.GetDatabase().ScriptEvaluateAsync(GetScript,
                [FlagKeyPrefix + idOrName, NameKeyPrefix + idOrName], [FlagKeyPrefix]));
            if (Json.Deserialize<Flag>(json) is not { } flag) return Result(span, "miss", null);
            _local.Put(flag);
            return Result(span, "redis", flag);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogDebug(e, "Flag cache read failed; reading SQLite");
            return Unavailable(span, e is TimeoutException ? "timeout" : "error");
        }
    }

    public async ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag-cache set");
        span?.SetTag(FlagCacheTelemetry.FlagTag, flag.Id);
        // committed: this replica serves it from now on, whatever Redis does
        _local.Put(flag);
        await WriteOrHoldAsync(new PendingWrite(flag, previousName, false));
    }

    /// <summary>
    /// A flag just read from SQLite: offered to Redis (version-guarded) only while Redis is trusted, never held for
    /// replay — by the time Redis returns it may be older than what another replica wrote. With a write of this
    /// replica still waiting for replay (a delete, say) Redis has no tombstone yet to refuse a row read before that
    /// write committed, and every other replica would be served it from Redis.
    /// </summary>
    public async ValueTask FillAsync(Flag flag, CancellationToken ct = default)
    {
        if (!RedisTrusted) return;
        using var span = FlagCacheTelemetry.Source.StartActivity("flag-cache fill");
        span?.SetTag(FlagCacheTelemetry.FlagTag, flag.Id);
        await TryWriteAsync(new PendingWrite(flag, null, false));
    }

    /// <summary>
    /// Whether Redis is known to hold this version of the flag or a newer one (for <see cref="DeletedVersion"/>: its
    /// tombstone), because this replica wrote it there or heard another replica's write announced. No Redis call.
    /// </summary>
    public bool Holds(string flagId, long version) => _inRedis.TryGetValue(flagId, out var held) && held >= version;

    /// <summary>The version a tombstone carries, above any real one: <see cref="Holds"/> with it asks whether Redis knows of a delete.</summary>
    public const long DeletedVersion = Deleted;

    /// <summary>
    /// A version committed elsewhere that nothing told this replica reached Redis (its writer may have died between its
    /// commit and its write-through): the local copy drops anything older, and Redis gets a version-guarded fill, which
    /// never moves a flag backwards nor brings back a deleted one and which several replicas may make at once. True when
    /// Redis now holds this version or a newer one; false when it could not be offered (Redis not trusted), to try again.
    /// </summary>
    public async ValueTask<bool> RepairAsync(Flag flag)
    {
        _local.Invalidate(flag.Id, flag.Version, []);
        await FillAsync(flag);
        return Holds(flag.Id, flag.Version);
    }

    public async ValueTask RemoveAsync(Flag flag, CancellationToken ct = default)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag-cache remove");
        span?.SetTag(FlagCacheTelemetry.FlagTag, flag.Id);
        await WriteOrHoldAsync(new PendingWrite(flag, null, true));
    }

    private async Task WriteOrHoldAsync(PendingWrite w)
    {
        if (!await TryWriteAsync(w)) Hold(w);
        // a write that failed while the connection stayed up gets its replay on the next write that works
        else if (!_pending.IsEmpty) _ = ReplayAsync();
    }

    private async Task<bool> TryWriteAsync(PendingWrite w)
    {
        var f = w.Flag;
        if (w.Removed) _local.Invalidate(f.Id, Deleted, [f.Name]);
        if (_circuit.IsOpen || !_redis.IsConnected) return false;
        try
        {
            var db = _redis.GetDatabase();
            if (w.Removed)
            {
                await _circuit.CallAsync(db.ScriptEvaluateAsync(RemoveScript, [FlagKeyPrefix + f.Id, NameKeyPrefix + f.Name],
                    [Deleted, f.Id, _replica, Channel, f.Name]));
                InRedis(f.Id, Deleted);
                return true;
            }
            var previous = w.PreviousName ?? f.Name;
            var accepted = (int)await _circuit.CallAsync(db.ScriptEvaluateAsync(SetScript,
                [FlagKeyPrefix + f.Id, NameKeyPrefix + f.Name, NameKeyPrefix + previous],
                [f.Version, Json.Serialize(f), f.Id, _replica, Channel, f.Name, previous]));
            if (accepted == 1) _local.Put(f);
            InRedis(f.Id, f.Version); // taken, or refused because Redis holds a newer version or the tombstone
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogDebug(e, "Flag cache write-through of {FlagId} failed; kept for replay", f.Id);
            return false;
        }
    }

    private void Hold(PendingWrite w) =>
        _pending.AddOrUpdate(w.Flag.Id, w, (_, held) => held.Removed || held.Flag.Version > w.Flag.Version && !w.Removed ? held : w);

    private void OnMessage(ChannelMessage m)
    {
        // replica|id|version|name[|previous name], or hb|replica|timestamp
        var parts = ((string?)m.Message ?? "").Split('|');
        if (parts.Length == 3 && parts[0] == HeartbeatTag)
        {
            if (parts[1] == _replica && long.TryParse(parts[2], out var sentAt)) Advance(ref _heardAt, sentAt);
            return;
        }
        if (parts.Length < 4 || parts[0] == _replica || !long.TryParse(parts[2], out var version)) return;
        _local.Invalidate(parts[1], version, parts[3..]);
        InRedis(parts[1], version);
    }

    private void InRedis(string flagId, long version) =>
        _inRedis.AddOrUpdate(flagId, version, (_, held) => Math.Max(held, version));

    private static void Advance(ref long field, long value)
    {
        for (var held = Volatile.Read(ref field); held < value; held = Volatile.Read(ref field))
            if (Interlocked.CompareExchange(ref field, value, held) == held) return;
    }

    /// <summary>
    /// Every probe interval: with the circuit closed, a heartbeat through the invalidation channel (it renews the
    /// local copy's lease, and its timeout is how a stall is noticed when every read is local); with it open, a PING
    /// that closes it, after which missed writes are replayed.
    /// </summary>
    private async Task WatchAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_probeInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await ProbeAsync();
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    _log.LogDebug(e, "Flag cache probe failed");
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task ProbeAsync()
    {
        if (!_redis.IsConnected) return;
        if (!_subscribed) await TrySubscribeAsync();
        var db = _redis.GetDatabase();
        if (_circuit.IsOpen)
        {
            await db.PingAsync().WaitAsync(_circuit.Timeout);
            // what arrived before the outage may have been overtaken by invalidations Redis could not deliver
            _local.Clear();
            Volatile.Write(ref _settledAt, _clock.GetTimestamp() + (long)(SettleTime.TotalSeconds * _clock.TimestampFrequency));
            _circuit.Close();
            _log.LogInformation("Redis at {Endpoint} answers again; flag reads use it once missed writes are replayed.", Endpoint);
        }
        await _circuit.CallAsync(db.PublishAsync(InvalidationChannel, $"{HeartbeatTag}|{_replica}|{_clock.GetTimestamp()}"));
        if (!_pending.IsEmpty) await ReplayAsync();
    }

    private void OnCircuitOpened(Exception reason)
    {
        _local.Clear();
        _log.LogWarning("Redis at {Endpoint} does not answer ({Reason}); flag reads come from SQLite and Redis calls fail fast until it does.",
            Endpoint, reason.Message);
    }

    private async Task TrySubscribeAsync()
    {
        if (_subscribed || !_redis.IsConnected || Interlocked.Exchange(ref _subscribing, 1) == 1) return;
        try
        {
            // the multiplexer re-subscribes by itself after a reconnect once this has succeeded
            var queue = await _redis.GetSubscriber().SubscribeAsync(InvalidationChannel);
            queue.OnMessage(OnMessage);
            _subscribed = true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogDebug(e, "Subscribing to flag invalidations failed; retried when Redis returns");
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // either connection: without the subscription, invalidations are lost too; the probe closes the circuit
        _local.Clear();
        _circuit.Trip(e.Exception ?? new RedisConnectionException(e.FailureType, $"{e.ConnectionType} connection failed"));
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // invalidations published while we were away are lost: start from an empty local copy
        _local.Clear();
    }

    private async Task ReplayAsync()
    {
        if (Interlocked.Exchange(ref _replaying, 1) == 1) return;
        try
        {
            var replayed = 0;
            foreach (var (id, w) in _pending)
            {
                if (!await TryWriteAsync(w)) return;
                _pending.TryRemove(new KeyValuePair<string, PendingWrite>(id, w));
                replayed++;
            }
            _log.LogInformation("Redis at {Endpoint} is back; replayed {Count} flag write(s) it missed.", Endpoint, replayed);
        }
        finally
        {
            Volatile.Write(ref _replaying, 0);
        }
    }

    private static Flag? Result(Activity? span, string result, Flag? flag)
    {
        span?.SetTag(FlagCacheTelemetry.ResultTag, result);
        return flag;
    }

    // why Redis was not asked, or did not answer: a skip while the circuit is open costs nothing, a timeout costs the deadline
    private static Flag? Unavailable(Activity? span, string reason)
    {
        span?.SetTag(FlagCacheTelemetry.UnavailableTag, reason);
        return Result(span, "unavailable", null);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
    }
}
