using System.Collections.Concurrent;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// One replica's copy of the flags it read from Redis. It only ever moves forward: an entry older than
/// what is held, or than an invalidation already received for that flag, is refused, so a slow read
/// racing a newer write elsewhere cannot put a stale flag back.
/// </summary>
internal sealed class FlagCacheLocalCopy
{
    private readonly ConcurrentDictionary<string, Flag> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _idByName = new(StringComparer.Ordinal);
    // the lowest version this replica may still hold per flag id, raised by invalidations
    private readonly ConcurrentDictionary<string, long> _floor = new(StringComparer.Ordinal);
    // Put checks the floor and then adds: without this an invalidation (a delete) landing between the two let the
    // older flag back in. Reads stay lock-free; writes to the copy are rare next to them.
    private readonly Lock _gate = new();

    public bool TryGet(string idOrName, out Flag flag)
    {
        if (_byId.TryGetValue(idOrName, out flag!)) return true;
        return _idByName.TryGetValue(idOrName, out var id) && _byId.TryGetValue(id, out flag!) && flag.Name == idOrName;
    }

    public void Put(Flag flag)
    {
        lock (_gate)
        {
            if (_floor.TryGetValue(flag.Id, out var floor) && flag.Version < floor) return;
            var kept = _byId.AddOrUpdate(flag.Id, flag, (_, held) => held.Version > flag.Version ? held : flag);
            if (ReferenceEquals(kept, flag)) _idByName[flag.Name] = flag.Id;
        }
    }

    /// <summary>Drops the flag and raises its floor to <paramref name="version"/> (the version now in Redis).</summary>
    public void Invalidate(string id, long version, IEnumerable<string> names)
    {
        lock (_gate)
        {
            _floor.AddOrUpdate(id, version, (_, held) => Math.Max(held, version));
            if (_byId.TryGetValue(id, out var held) && held.Version < version) _byId.TryRemove(new KeyValuePair<string, Flag>(id, held));
            foreach (var name in names) _idByName.TryRemove(new KeyValuePair<string, string>(name, id));
        }
    }

    /// <summary>Forget everything, e.g. after Redis was away and invalidations may have been missed.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _byId.Clear();
            _idByName.Clear();
        }
    }
}
