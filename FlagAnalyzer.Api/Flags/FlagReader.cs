using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>Single-flag reads: the cache first, SQLite on a miss (and the cache filled from it).</summary>
public sealed class FlagReader(Db db, IFlagCache cache) : IFlagIds
{
    public async Task<string?> ResolveAsync(string idOrName, CancellationToken ct) => (await GetAsync(idOrName, ct))?.Id;

    public async Task<Flag?> GetAsync(string idOrName, CancellationToken ct)
    {
        if (await cache.GetAsync(idOrName, ct) is { } cached) return cached;
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
}
