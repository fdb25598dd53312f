using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// At start-up, after the migrations: every flag without configurations gets them (home from the flag's own columns,
/// every other environment that is not retired disabled; <see cref="FlagConfigurationStore.BackfillAsync"/>). This is
/// how a database written by the release before issue 26 is upgraded; it is idempotent, so replicas starting together
/// may all run it. Not a migration step: on a new database the steps run in version order, and migration 3 runs before
/// 600 adds the columns the home configuration is copied from.
/// </summary>
public sealed partial class FlagConfigurationBackfill(Db db, TimeProvider clock, ILogger<FlagConfigurationBackfill> log,
    IEnvironmentRegistry? environments = null)
{
    public async Task<int> RunAsync(CancellationToken ct = default)
    {
        await using var s = await db.BeginWriteAsync(WriteLock.All, ct);
        var names = environments is null ? [] : (await environments.OrderAsync(s.Connection, s.Transaction, ct)).Where(e => !e.Retired).Select(e => e.Name).ToList();
        var written = await FlagConfigurationStore.BackfillAsync(s.Connection, s.Transaction, names, clock.GetUtcNow(), ct);
        await s.CommitAsync(ct);
        if (written > 0) LogBackfilled(written);
        return written;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote {Count} flag configurations for flags stored without them (upgrade to one configuration per environment)")]
    private partial void LogBackfilled(int count);
}
