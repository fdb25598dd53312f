using System.Collections.Concurrent;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// The read cache in front of <c>feature_flags</c> (the seed's KV <c>FLAG_CACHE</c>). Writers call
/// <see cref="SetAsync"/>/<see cref="RemoveAsync"/> after they commit; readers fall back to SQLite on a miss.
/// Implementations never throw: a cache that is down is a miss.
/// </summary>
public interface IFlagCache
{
    ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default);
    ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default);
    ValueTask RemoveAsync(Flag flag, CancellationToken ct = default);

    /// <summary>A flag the caller just read from SQLite (not a change): a cache may take it or leave it.</summary>
    ValueTask FillAsync(Flag flag, CancellationToken ct = default) => SetAsync(flag, null, ct);
}

/// <summary>
/// <c>FlagCache</c> configuration. Both switches exist to measure and troubleshoot the cache; the defaults
/// are what the product runs.
/// </summary>
public sealed class FlagCacheOptions
{
    /// <summary><c>FlagCache:Enabled</c>: false sends every flag read to SQLite.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>FlagCache:LocalCopy</c>: false makes every cached read a Redis round trip.</summary>
    public bool LocalCopy { get; set; } = true;

    /// <summary>
    /// <c>FlagCache:RedisTimeout</c>: how long one Redis call may take before Redis counts as not answering and
    /// the circuit opens (loopback calls take well under a millisecond; this is for a stalled Redis).
    /// </summary>
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary><c>FlagCache:ProbeInterval</c>: how often a replica proves Redis answers (heartbeat, or PING while the circuit is open).</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// <c>FlagCache:LocalCopyLease</c>: how long after its last heartbeat came back a replica still answers from its
    /// local copy; the most a copy can lag behind Redis when Redis stops delivering.
    /// </summary>
    public TimeSpan LocalCopyLease { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>No cache at all (<c>FlagCache:Enabled=false</c>): every read is a miss, so it comes from SQLite.</summary>
public sealed class NoFlagCache : IFlagCache
{
    public ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default) => ValueTask.FromResult<Flag?>(null);
    public ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default) => ValueTask.CompletedTask;
    public ValueTask RemoveAsync(Flag flag, CancellationToken ct = default) => ValueTask.CompletedTask;
}

/// <summary>
/// The cache of a single API process, used when no Redis is configured. A deleted flag leaves a tombstone, so a
/// read that fetched it from SQLite just before the delete cannot put it back afterwards.
/// </summary>
public sealed class InProcessFlagCache : IFlagCache
{
    private static readonly TimeSpan TombstoneLife = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<string, Flag> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _idByName = new(StringComparer.Ordinal);
    // deleted flag id → when; ids are never reused, so an hour outlives any read that started before the delete
    private readonly ConcurrentDictionary<string, DateTimeOffset> _deleted = new(StringComparer.Ordinal);

    public ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default)
    {
        if (_byId.TryGetValue(idOrName, out var f)) return ValueTask.FromResult<Flag?>(f);
        if (_idByName.TryGetValue(idOrName, out var id) && _byId.TryGetValue(id, out f)) return ValueTask.FromResult<Flag?>(f);
        return ValueTask.FromResult<Flag?>(null);
    }

    public ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default)
    {
        lock (_deleted)
        {
            if (_deleted.ContainsKey(flag.Id)) return ValueTask.CompletedTask;
            if (previousName is not null && previousName != flag.Name) _idByName.TryRemove(previousName, out _);
            // keep the newest version when two writers race to fill the cache
            var kept = _byId.AddOrUpdate(flag.Id, flag, (_, existing) => existing.Version > flag.Version ? existing : flag);
            if (ReferenceEquals(kept, flag)) _idByName[flag.Name] = flag.Id;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(Flag flag, CancellationToken ct = default)
    {
        var now = DateTimeOffset.UtcNow;
        lock (_deleted)
        {
            _deleted[flag.Id] = now;
            _byId.TryRemove(flag.Id, out _);
            _idByName.TryRemove(new KeyValuePair<string, string>(flag.Name, flag.Id));
            foreach (var (id, at) in _deleted)
                if (now - at > TombstoneLife) _deleted.TryRemove(id, out _);
        }
        return ValueTask.CompletedTask;
    }
}
