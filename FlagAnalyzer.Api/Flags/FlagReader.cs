using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>Single-flag reads: the cache first, SQLite on a miss (and the cache filled from it).</summary>
public sealed class FlagReader(Db db, IFlagCache cache) : IFlagIds
{
    public async Task<string?> ResolveAsync(string idOrName, CancellationToken ct) => (await GetAsync(idOrName, ct))?.Id;

    public async Task<FlagRef?> FindAsync(string idOrName, CancellationToken ct) =>
        await GetAsync(idOrName, ct) is { } f ? new FlagRef(f.Id, f.TargetEnvironment) : null;

    /// <summary>The flag when it exists for <paramref name="actor"/> (<see cref="FlagScope"/>), else null.</summary>
    public async Task<Flag?> GetForAsync(Actor? actor, string idOrName, CancellationToken ct) =>
        await GetAsync(idOrName, ct) is { } f && actor.Sees(f.TargetEnvironment) ? f : null;

    public async Task<Flag?> GetAsync(string idOrName, CancellationToken ct)
    {
        // a cached flag found by name when an id was asked for may be an impostor: the store orders ids first
        if (await cache.GetAsync(idOrName, ct) is { } cached && (cached.Id == idOrName || !Ids.LooksLikeId(idOrName))) return cached;
        return await GetFromDatabaseAsync(idOrName, ct);
    }

    public async Task<Flag?> GetFromDatabaseAsync(string idOrName, CancellationToken ct)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag read sqlite");
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName, ct);
        if (flag is not null) await cache.FillAsync(flag, ct);
        return flag;
    }

    /// <summary>
    /// The flag an OpenFeature key names (what SDKs and their telemetry call it), else the flag of that id or
    /// name: a key defaults to the name, so both agree until someone gives the flag a key of its own.
    /// A key seen before is answered through the flag cache by the id it named (so an export of many spans
    /// costs no SQLite query per flag); the answer is used only if that flag still carries the key, so a
    /// deleted or re-keyed flag falls through to the database like an unknown key.
    /// </summary>
    public async Task<Flag?> GetByKeyAsync(string key, CancellationToken ct)
    {
        if (_idByKey.TryGetValue(key, out var id))
        {
            if (await GetAsync(id, ct) is { } known && known.Key == key) return known;
            _idByKey.TryRemove(new KeyValuePair<string, string>(key, id));
        }
        Flag? flag;
        await using (var conn = await db.OpenAsync(ct))
            flag = await FlagStore.FindByKeyAsync(conn, null, key, ct);
        if (flag is not null) _idByKey[key] = flag.Id; // at most one entry per flag that has existed under a key
        return flag ?? await GetAsync(key, ct);
    }

    /// <summary>The flag of an OpenFeature key when it exists for <paramref name="actor"/> (<see cref="FlagScope"/>), else null.</summary>
    public async Task<Flag?> GetByKeyForAsync(Actor? actor, string key, CancellationToken ct) =>
        await GetByKeyAsync(key, ct) is { } f && actor.Sees(f.TargetEnvironment) ? f : null;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _idByKey = new(StringComparer.Ordinal);
}
