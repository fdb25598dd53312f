using System.Diagnostics;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>Issue 26: the snapshot holds every flag per environment, and a change of one environment reaches that environment's view.</summary>
public sealed class FlagSnapshotEnvironmentTests(ITestOutputHelper output)
{
    private static FlagSnapshotStore Store(string cs = "Data Source=:memory:") => new(new Db(cs), NullLogger<FlagSnapshotStore>.Instance);

    private static readonly Flag Home = new() { Id = "flg_1", Name = "ks", Key = "ks", Version = 1, Enabled = true, RolloutPercentage = 100, TargetEnvironment = "production" };

    private static FlagConfiguration Config(string env, bool enabled, long version) =>
        new() { Environment = env, Enabled = enabled, RolloutPercentage = 100, Version = version };

    private static FeedEntry Entry(long revision, params FlagConfiguration[] configurations) =>
        new(revision, new FlagChange { Id = $"chg_{revision}", FlagId = "flg_1", FlagName = "ks", ChangeType = ChangeType.Updated }, Home, false)
        {
            Configurations = configurations,
        };

    [Fact]
    public void AChangeOfAnotherEnvironment_WhichLeavesTheFlagsVersion_ReachesThatEnvironmentOnly_AndAnOlderRevisionDoesNotUndoIt()
    {
        var store = Store();
        store.Apply(Entry(1, Config("production", true, 1), Config("staging", false, 1)));
        var productionVersion = store.Current.VersionOf("production");

        store.Apply(Entry(2, Config("production", true, 1), Config("staging", true, 2)));
        store.Apply(Entry(1, Config("production", true, 1), Config("staging", false, 1)));   // delivered again, late

        Assert.True(store.Current.TryGet("ks", "staging", out var staging));
        Assert.True(staging.Enabled);
        Assert.Equal(2, staging.Version);
        Assert.True(store.Current.TryGet("ks", "production", out var production) && production.Enabled);
        Assert.Equal(productionVersion, store.Current.VersionOf("production"));
        // an environment no configuration names serves the flag disabled
        Assert.True(store.Current.TryGet("ks", "perf", out var perf));
        Assert.False(perf.Enabled);
    }

    /// <summary>
    /// 10,000 flags × 3 environments, loaded the way a replica starts (one read of every flag and configuration), held in
    /// the snapshot in under 100 MB: the managed heap's growth across the load, after full collections.
    /// </summary>
    [Fact]
    public async Task TenThousandFlags_InThreeEnvironments_TakeUnder100MB()
    {
        var path = Path.Combine(Path.GetTempPath(), $"snapshot-memory-{Guid.NewGuid():N}.db");
        try
        {
            var db = new Db($"Data Source={path}");
            await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
            await using (var conn = (SqliteConnection)await db.OpenAsync())
            await using (var tx = conn.BeginTransaction())
            {
                var flag = conn.CreateCommand();
                flag.Transaction = tx;
                flag.CommandText = """
                    INSERT INTO feature_flags(id, name, flag_key, enabled, rollout_percentage, target_environment, variants, default_variant, off_variant,
                                              targeting, created_at, updated_at, version)
                    VALUES ($id, $id, $id, 1, 50, 'production', '{"on":true,"off":false}', 'on', 'off', $targeting, 0, 0, 1)
                    """;
                var configuration = conn.CreateCommand();
                configuration.Transaction = tx;
                configuration.CommandText = """
                    INSERT INTO flag_environments(flag_id, environment, enabled, rollout_percentage, targeting, default_variant, off_variant, auto_rollback, version, updated_at)
                    VALUES ($id, $env, 1, 50, $targeting, 'on', 'off', 0, 1, 0)
                    """;
                for (var i = 0; i < 10_000; i++)
                {
                    var id = $"mem-{i:D5}";
                    // every fourth flag has a targeting rule of its own in each environment
                    var targeting = i % 4 == 0 ? $$"""{"if":[{"==":[{"var":"plan"},"p{{i}}"]},"on",null]}""" : (object)DBNull.Value;
                    flag.Parameters.Clear();
                    flag.Parameters.AddWithValue("$id", id);
                    flag.Parameters.AddWithValue("$targeting", targeting);
                    await flag.ExecuteNonQueryAsync();
                    foreach (var env in new[] { "development", "staging", "production" })
                    {
                        configuration.Parameters.Clear();
                        configuration.Parameters.AddWithValue("$id", id);
                        configuration.Parameters.AddWithValue("$env", env);
                        configuration.Parameters.AddWithValue("$targeting", targeting);
                        await configuration.ExecuteNonQueryAsync();
                    }
                }
                await tx.CommitAsync();
            }

            var before = Heap();
            var store = Store($"Data Source={path}");
            var clock = Stopwatch.StartNew();
            await store.ReloadAsync(CancellationToken.None);
            var load = clock.Elapsed;
            var grown = Heap() - before;

            Assert.Equal(10_000, store.Current.ByKey.Count);
            foreach (var env in new[] { "development", "staging", "production" }) Assert.Equal(10_000, store.Current.ForEnvironment(env).Count);
            output.WriteLine($"10,000 flags x 3 environments: {grown / 1024.0 / 1024.0:F1} MiB held by the snapshot (load {load.TotalSeconds:F1} s)");
            Assert.True(grown < 100L * 1024 * 1024, $"the snapshot holds {grown / 1024.0 / 1024.0:F1} MiB");
            GC.KeepAlive(store);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
        }
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
