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
}

/// <summary>No cache at all (<c>FlagCache:Enabled=false</c>): every read is a miss, so it comes from SQLite.</summary>
public sealed class NoFlagCache : IFlagCache
{
    public ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default) => ValueTask.FromResult<Flag?>(null);
    public ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default) => ValueTask.CompletedTask;
    public ValueTask RemoveAsync(Flag flag, CancellationToken ct = default) => ValueTask.CompletedTask;
}

/// <summary>The cache of a single API process, used when no Redis is configured.</summary>
public sealed class InProcessFlagCache : IFlagCache
{
    private readonly ConcurrentDictionary<string, Flag> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _idByName = new(StringComparer.Ordinal);

    public ValueTask<Flag?> GetAsync(string idOrName, CancellationToken ct = default)
    {
        if (_byId.TryGetValue(idOrName, out var f)) return ValueTask.FromResult<Flag?>(f);
        if (_idByName.TryGetValue(idOrName, out var id) && _byId.TryGetValue(id, out f)) return ValueTask.FromResult<Flag?>(f);
        return ValueTask.FromResult<Flag?>(null);
    }

    public ValueTask SetAsync(Flag flag, string? previousName = null, CancellationToken ct = default)
    {
        if (previousName is not null && previousName != flag.Name) _idByName.TryRemove(previousName, out _);
        // keep the newest version when two writers race to fill the cache
        _byId.AddOrUpdate(flag.Id, flag, (_, existing) => existing.Version > flag.Version ? existing : flag);
        _idByName[flag.Name] = flag.Id;
        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(Flag flag, CancellationToken ct = default)
    {
        _byId.TryRemove(flag.Id, out _);
        _idByName.TryRemove(new KeyValuePair<string, string>(flag.Name, flag.Id));
        return ValueTask.CompletedTask;
    }
}
