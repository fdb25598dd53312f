using System.Globalization;
using System.Net;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// Replicas on one SQLite file and a real redis-server on loopback. Redis holds no copy of the flags: it announces each
/// committed revision, so the other replicas read it from the feed at once; without Redis they still read it at their
/// next poll, and health says Redis is missing.
/// </summary>
public sealed class RedisFeedTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = RedisReplicas.Timeout;
    private RedisReplicas _r = null!;
    private readonly CacheResults _cacheResults = new();

    public async Task InitializeAsync() => _r = await RedisReplicas.StartAsync();

    public async Task DisposeAsync()
    {
        await _r.DisposeAsync();
        _cacheResults.Dispose();
    }

    [Fact]
    public async Task EachCommittedChange_IsAnnouncedOnRedis_WithItsRevision()
    {
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(_r.Redis.ConnectionString).WaitAsync(Timeout);
        var announced = new System.Collections.Concurrent.ConcurrentQueue<long>();
        (await inspector.GetSubscriber().SubscribeAsync(RedisChannel.Literal(ChangeFeed.AnnounceChannel)).WaitAsync(Timeout))
            .OnMessage(m => announced.Enqueue(long.Parse(m.Message.ToString(), CultureInfo.InvariantCulture)));
        var api = Replica().CreateClient();

        await (await api.PostJson("/api/flags", new { name = Name("announced") })).ReadAs<Flag>();
        var change = (await (await api.GetAsync("/api/flags/changes?limit=1")).ReadAs<Page<FlagChange>>()).Items.Single();
        Assert.True(change.Revision > 0, "the change has no revision");
        Assert.True(await Wait.Until(() => Task.FromResult(announced.Contains(change.Revision))),
            $"revision {change.Revision} was never announced (heard: {string.Join(",", announced)})");
    }

    [Fact]
    public async Task FlagReads_AreServedFromTheSnapshot_NotTheDatabase()
    {
        var app = Replica();
        var api = app.CreateClient();
        var created = await (await api.PostJson("/api/flags", new { name = Name("served"), description = "as committed" })).ReadAs<Flag>();
        // change the row behind the API's back (no change row, no revision): a read that answers with it read the database
        await TestDatabase.ExecuteAsync(app.DatabasePath, "UPDATE feature_flags SET description = 'behind the feed' WHERE id = @id", ("id", created.Id));

        var (byId, result) = await _cacheResults.GetAsync(api, $"/api/flags/{created.Id}");
        Assert.Equal(("as committed", "snapshot"), ((await byId.ReadAs<Flag>()).Description, result));
        Assert.Equal("as committed", (await (await api.GetAsync($"/api/flags/{created.Name}")).ReadAs<Flag>()).Description);
    }

    [Fact]
    public async Task ChangeOnOneReplica_IsSeenByAnother()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var clientA = a.CreateClient();
        var clientB = b.CreateClient();
        var flag = await (await clientA.PostJson("/api/flags", new { name = Name("replicas") })).ReadAs<Flag>();
        Assert.True(await Eventually(async () => (await _cacheResults.GetAsync(clientB, $"/api/flags/{flag.Name}")).CacheResult == "snapshot"),
            "replica B never held the flag in its snapshot");

        await (await clientA.PatchAsync($"/api/flags/{flag.Id}", Body(new { enabled = true }))).ReadAs<Flag>();
        Assert.True(await Eventually(async () => (await (await clientB.GetAsync($"/api/flags/{flag.Name}")).ReadAs<Flag>()).Enabled),
            "replica B still answers with the flag as it was before replica A enabled it");

        Assert.Equal(HttpStatusCode.NoContent, (await clientA.DeleteAsync($"/api/flags/{flag.Id}")).StatusCode);
        Assert.True(await Eventually(async () => (await clientB.GetAsync($"/api/flags/{flag.Id}")).StatusCode == HttpStatusCode.NotFound),
            "replica B still answers with a flag replica A deleted");
    }

    [Fact]
    public async Task RedisGoingDown_ReadsAndWritesKeepWorking_HealthDegrades_ThenRecovers()
    {
        var api = Replica().CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = Name("outage") })).ReadAs<Flag>();

        await _r.Redis.KillAsync();
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Degraded"), "health never noticed Redis was gone");
        var patched = await (await api.PatchAsync($"/api/flags/{flag.Id}", Body(new { enabled = true }))).ReadAs<Flag>();
        Assert.True(patched.Enabled);
        Assert.True((await (await api.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled);
        var health = await api.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        Assert.Equal("Degraded", cache.GetProperty("status").GetString());
        Assert.StartsWith("degraded: no Redis", cache.GetProperty("description").GetString());

        await _r.Redis.StartAgainAsync();
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Healthy"), "health never reported Redis healthy after it returned");
        Assert.True((await (await api.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled);
    }

    [Fact]
    public async Task RedisDown_AChangeOnOneReplica_IsServedByTheOther()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var clientA = a.CreateClient();
        var clientB = b.CreateClient();
        var flag = await (await clientA.PostJson("/api/flags", new { name = Name("outage-pair") })).ReadAs<Flag>();
        Assert.True(await Eventually(async () => (await _cacheResults.GetAsync(clientB, $"/api/flags/{flag.Id}")).CacheResult == "snapshot"),
            "replica B never held the flag in its snapshot");

        await _r.Redis.KillAsync();
        Assert.True(await Eventually(async () => await CacheStatus(clientB) == "Degraded"), "replica B never noticed Redis was gone");
        // A's change cannot be announced: Redis is down; B finds it at its next poll of the feed
        await (await clientA.PatchAsync($"/api/flags/{flag.Id}", Body(new { enabled = true }))).ReadAs<Flag>();

        Assert.True(await Wait.Until(async () => (await (await clientB.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled, Wait.Arrival),
            "replica B kept serving its stale copy of a flag replica A changed during the outage");
    }

    [Fact]
    public async Task RedisAbsentAtStart_ApiServes_ThenHealthSaysRedisWhenItArrives()
    {
        await _r.Redis.KillAsync();
        var api = Replica().CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = Name("late-redis") })).ReadAs<Flag>();
        Assert.Equal(flag.Id, (await (await api.GetAsync($"/api/flags/{flag.Name}")).ReadAs<Flag>()).Id);
        Assert.Equal("Degraded", await CacheStatus(api));

        await _r.Redis.StartAgainAsync();
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Healthy"), "health never reported Redis healthy after it arrived");
    }

    [Fact]
    public async Task WithoutRedis_HealthSaysDegradedNoRedis()
    {
        await using var app = new ApiFactory();
        var health = await app.CreateClient().GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        Assert.Equal(("Degraded", true), (cache.GetProperty("status").GetString(),
            cache.GetProperty("description").GetString()!.StartsWith("degraded: no Redis", StringComparison.Ordinal)));
    }

    private ApiFactory Replica(string? databasePath = null) => _r.Replica(databasePath);

    private static Task<string?> CacheStatus(HttpClient api) => RedisReplicas.CacheStatus(api);

    private static Task<bool> Eventually(Func<Task<bool>> condition) => Wait.Until(condition);

    private static StringContent Body(object o) => RedisReplicas.Body(o);

    private static string Name(string prefix) => RedisReplicas.Name(prefix);
}
