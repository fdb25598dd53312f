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
/// <item>While Redis is unreachable every read is a miss (the caller reads SQLite), the local copy is not
/// trusted (invalidations can't arrive), and write-throughs wait in memory until the connection
/// returns, when they are replayed and the local copy is cleared.</item>
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

    private readonly IConnectionMultiplexer _redis;
    private readonly ILogger<RedisFlagCache> _log;
    private readonly string _replica = Guid.NewGuid().ToString("N");
    private readonly FlagCacheLocalCopy _local = new();
    // write-throughs Redis missed while away, newest per flag id; replayed when it returns
    private readonly ConcurrentDictionary<string, PendingWrite> _pending = new(StringComparer.Ordinal);
    private readonly bool _useLocalCopy;
    private int _subscribing;
    private int _down;
    private int _replaying;
    private volatile bool _subscribed;

    private sealed record PendingWrite(Flag Flag, string? PreviousName, bool Removed);

    public RedisFlagCache(IConnectionMultiplexer redis, IOptions<FlagCacheOptions> options, ILogger<RedisFlagCache> log)
    {
        _redis = redis;
        _log = log;
        _useLocalCopy = options.Value.LocalCopy;
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>Subscribes to invalidations (at start-up, so the first reads can use the local copy).</summary>
    public async Task StartAsync()
    {
        if (!_redis.IsConnected)
            _log.LogWarning("Redis at {Endpoint} is not reachable; flag reads come from SQLite until it is.", Endpoint);
        await TrySubscribeAsync();
    }

    /// <summary><c>host:port</c> of the configured Redis, for health and logs.</summary>
    public string Endpoint => string.Join(",", _redis.GetEndPoints().Select(e => e switch
    {
        DnsEndPoint d => $"{d.Host}:{d.Port}",
        _ => e.ToString() ?? "?",
    }));

    public bool IsConnected => _redis.IsConnected;

    // the local copy is only trusted while invalidations can reach it
    private bool LocalCopyUsable => _useLocalCopy && _subscribed && _redis.GetSubscriber().IsConnected(InvalidationChannel);

    private static readonly RedisChannel InvalidationChannel = RedisChannel.Literal(Channel);

    public async Task<bool> PingAsync()
    {
        if (!_redis.IsConnected) return false;
        try
        {
            await _redis.GetDatabase().PingAsync();
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
        if (!_redis.IsConnected) return Result(span, "unavailable", null);
        if (!_subscribed) _ = TrySubscribeAsync(); // Redis was away at start-up and is here now
        if (LocalCopyUsable && _local.TryGet(idOrName, out var local)) return Result(span, "local", local);
        try
        {
            var json = (string?)await _redis.GetDatabase().ScriptEvaluateAsync(GetScript,
                [FlagKeyPrefix + idOrName, NameKeyPrefix + idOrName], [FlagKeyPrefix]);
            if (Json.Deserialize<Flag>(json) is not { } flag) return Result(span, "miss", null);
            _local.Put(flag);
            return Result(span, "redis", flag);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogDebug(e, "Flag cache read failed; reading SQLite");
            return Result(span, "unavailable", null);
        }
    }

    public async ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag-cache set");
        span?.SetTag(FlagCacheTelemetry.FlagTag, flag.Id);
        await WriteOrHoldAsync(new PendingWrite(flag, previousName, false));
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
        if (!_redis.IsConnected) return false;
        try
        {
            var db = _redis.GetDatabase();
            if (w.Removed)
            {
                await db.ScriptEvaluateAsync(RemoveScript, [FlagKeyPrefix + f.Id, NameKeyPrefix + f.Name],
                    [Deleted, f.Id, _replica, Channel, f.Name]);
                return true;
            }
            var previous = w.PreviousName ?? f.Name;
            var accepted = (int)await db.ScriptEvaluateAsync(SetScript,
                [FlagKeyPrefix + f.Id, NameKeyPrefix + f.Name, NameKeyPrefix + previous],
                [f.Version, Json.Serialize(f), f.Id, _replica, Channel, f.Name, previous]);
            if (accepted == 1) _local.Put(f);
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
        // replica|id|version|name[|previous name]
        var parts = ((string?)m.Message ?? "").Split('|');
        if (parts.Length < 4 || parts[0] == _replica || !long.TryParse(parts[2], out var version)) return;
        _local.Invalidate(parts[1], version, parts[3..]);
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
        // either connection: without the subscription, invalidations are lost too
        _local.Clear();
        if (e.ConnectionType != ConnectionType.Interactive) return;
        // once per outage, not once per reconnect attempt
        if (Interlocked.Exchange(ref _down, 1) == 0)
            _log.LogWarning("Redis at {Endpoint} went away ({Failure}); flag reads come from SQLite until it returns.", Endpoint, e.FailureType);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // invalidations published while we were away are lost: start from an empty local copy
        _local.Clear();
        if (e.ConnectionType != ConnectionType.Interactive) return;
        Volatile.Write(ref _down, 0);
        _ = TrySubscribeAsync();
        _ = ReplayAsync();
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

    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
    }
}
