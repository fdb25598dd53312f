using System.Net;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// A deleted flag stays deleted: reads and metric writes racing its DELETE may see it before the delete, never
/// after — the cache must not be filled back with the version the delete removed, and a metric sample is stored
/// only if its flag existed when its transaction committed.
/// </summary>
public sealed class DeleteRaceTests
{
    private const int Races = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadsAndMetricsRacingADelete_NeverBringTheFlagBack(bool withRedis)
    {
        await using var redis = withRedis ? await RedisServer.StartAsync() : null;
        string[] ids;
        string database;
        await using (var seeding = App(null, redis))
        {
            database = seeding.DatabasePath;
            var api = seeding.CreateClient();
            ids = new string[Races];
            for (var i = 0; i < Races; i++)
                ids[i] = (await (await api.PostJson("/api/flags", new { name = $"race-{i}-{Guid.NewGuid():N}"[..30] })).ReadAs<Flag>()).Id;
        }
        // a fresh replica on the same file: every flag's first read misses the cache and fills it from SQLite
        await using var app = App(database, redis);
        var client = app.CreateClient();

        var resurrected = new List<string>();
        var orphans = new List<string>();
        foreach (var id in ids)
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reads = Enumerable.Range(0, 6).Select(_ => Task.Run(async () => { await go.Task; return await client.GetAsync($"/api/flags/{id}"); })).ToList();
            var metrics = Enumerable.Range(0, 2).Select(_ => Task.Run(async () => { await go.Task; return await client.PostJson("/api/metrics", Sample(id)); })).ToList();
            var delete = Task.Run(async () => { await go.Task; return await client.DeleteAsync($"/api/flags/{id}"); });
            go.SetResult();

            Assert.Equal(HttpStatusCode.NoContent, (await delete.WaitAsync(Timeout)).StatusCode);
            var racing = await Task.WhenAll(reads.Concat(metrics)).WaitAsync(Timeout);
            Assert.All(racing, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.NotFound }));

            // once everything that raced has finished, the flag is gone for reads and for metric writes
            if ((await client.GetAsync($"/api/flags/{id}")).StatusCode != HttpStatusCode.NotFound) resurrected.Add(id);
            Assert.Equal(HttpStatusCode.NotFound, (await client.PostJson("/api/metrics", Sample(id))).StatusCode);
            // a sample answered 200 is stored; none is stored for a 404
            var accepted = 0;
            foreach (var m in metrics) accepted += (await m).StatusCode == HttpStatusCode.OK ? 1 : 0;
            if (await StoredSamples(app.DatabasePath, id) != accepted) orphans.Add(id);
        }

        Assert.True(resurrected.Count == 0, $"{resurrected.Count} of {Races} deleted flags were served again after their DELETE returned");
        Assert.True(orphans.Count == 0, $"{orphans.Count} of {Races} flags have stored samples that no 200 answered for");
    }

    private ApiFactory App(string? databasePath, RedisServer? redis)
    {
        var app = new ApiFactory(databasePath);
        if (redis is not null) app.Settings["ConnectionStrings:cache"] = redis.ConnectionString;
        return app;
    }

    private static object Sample(string flagId) => new { flagId, errorRate = 0.5, latencyP50 = 40, latencyP99 = 120, requestCount = 1000 };

    private static Task<long> StoredSamples(string databasePath, string flagId) =>
        TestDatabase.ScalarAsync(databasePath, "SELECT COUNT(*) FROM impact_metrics WHERE flag_id = @id", ("id", flagId));
}
