using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>Single-flag reads: the snapshot first (<see cref="IFlagCache"/>), the database when it does not hold the flag.</summary>
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
        using (var span = FlagCacheTelemetry.Source.StartActivity("flag-cache get"))
        {
            span?.SetTag(FlagCacheTelemetry.FlagTag, idOrName);
            // a flag found by name when an id was asked for may be an impostor: the store orders ids first
            if (cache.Find(idOrName) is { } held && (held.Id == idOrName || !Ids.LooksLikeId(idOrName)))
            {
                span?.SetTag(FlagCacheTelemetry.ResultTag, "snapshot");
                return held;
            }
            span?.SetTag(FlagCacheTelemetry.ResultTag, "miss");
        }
        return await GetFromDatabaseAsync(idOrName, ct);
    }

    public async Task<Flag?> GetFromDatabaseAsync(string idOrName, CancellationToken ct)
    {
        using var span = FlagCacheTelemetry.Source.StartActivity("flag read sqlite");
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.FindAsync(conn, null, idOrName, ct);
    }

    /// <summary>
    /// The flag an OpenFeature key names (what SDKs and their telemetry call it), else the flag of that id or name: a key
    /// defaults to the name, so both agree until someone gives the flag a key of its own. A key the snapshot holds costs
    /// no query, so an export of many spans reads no database per flag.
    /// </summary>
    public async Task<Flag?> GetByKeyAsync(string key, CancellationToken ct)
    {
        if (cache.FindByKey(key) is { } held) return held;
        Flag? flag;
        await using (var conn = await db.OpenAsync(ct))
            flag = await FlagStore.FindByKeyAsync(conn, null, key, ct);
        return flag ?? await GetAsync(key, ct);
    }
}
