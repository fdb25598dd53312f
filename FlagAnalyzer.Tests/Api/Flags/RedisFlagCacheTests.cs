using FlagAnalyzer.Tests.Support;
using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>The API with <c>ConnectionStrings:cache</c> pointing at a real redis-server on loopback.</summary>
public sealed class RedisFlagCacheTests : IAsyncLifetime
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
    public async Task FlagChanges_AreWrittenThroughToRedis()
    {
        var api = Replica().CreateClient();
        var created = await (await api.PostJson("/api/flags", new { name = Name("write-through"), rolloutPercentage = 10 })).ReadAs<Flag>();
        Assert.Equal(1, (await InRedis(created.Id))?.Version);

        await (await api.PatchAsync($"/api/flags/{created.Id}", Body(new { rolloutPercentage = 50 }))).ReadAs<Flag>();
        var held = await InRedis(created.Id);
        Assert.Equal((2L, 50d), (held!.Version, held.RolloutPercentage));

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/flags/{created.Id}")).StatusCode);
        Assert.Null(await InRedis(created.Id));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/flags/{created.Id}")).StatusCode);
    }

    [Fact]
    public async Task FlagReads_AreServedFromRedis()
    {
        var writer = Replica();
        var created = await (await writer.CreateClient().PostJson("/api/flags", new { name = Name("served"), description = "from sqlite" })).ReadAs<Flag>();
        // change the cached copy behind the API's back: a replica that answers with it read Redis, not SQLite
        var doctored = created with { Description = "from redis", Version = created.Version + 1 };
        await _r.Inspect.HashSetAsync(RedisFlagCache.FlagKeyPrefix + created.Id,
            [new("v", doctored.Version), new("json", Json.Serialize(doctored))]);

        var reader = Replica(writer.DatabasePath).CreateClient();
        Assert.Equal("from redis", (await (await reader.GetAsync($"/api/flags/{created.Id}")).ReadAs<Flag>()).Description);
        Assert.Equal("from redis", (await (await reader.GetAsync($"/api/flags/{created.Name}")).ReadAs<Flag>()).Description);
    }

    [Fact]
    public async Task ChangeOnOneReplica_IsSeenByAnother_ThroughPubSub()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var clientA = a.CreateClient();
        var clientB = b.CreateClient();
        var flag = await (await clientA.PostJson("/api/flags", new { name = Name("replicas") })).ReadAs<Flag>();
        // B reads it once from Redis, and from then on answers from its own copy: Redis is no longer asked, so
        // only the invalidation A publishes can tell B about the change
        Assert.False((await (await clientB.GetAsync($"/api/flags/{flag.Name}")).ReadAs<Flag>()).Enabled);
        Assert.True(await Eventually(async () => (await _cacheResults.GetAsync(clientB, $"/api/flags/{flag.Name}")).CacheResult == "local"),
            "replica B never answered from its local copy");

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
        Assert.True(await Eventually(async () => (await _cacheResults.GetAsync(api, $"/api/flags/{flag.Name}")).CacheResult == "local"),
            "the replica never answered from its local copy");

        await _r.Redis.KillAsync();
        // once the replica knows Redis is gone it answers from SQLite, not from the copy it still holds
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Degraded"), "the cache never noticed Redis was gone");
        var (read, result) = await _cacheResults.GetAsync(api, $"/api/flags/{flag.Name}");
        Assert.Equal((flag.Id, "unavailable"), ((await read.ReadAs<Flag>()).Id, result));
        var patched = await (await api.PatchAsync($"/api/flags/{flag.Id}", Body(new { enabled = true }))).ReadAs<Flag>();
        Assert.True((await (await api.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled);
        var health = await api.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        Assert.Equal("Degraded", cache.GetProperty("status").GetString());
        Assert.StartsWith("degraded: no Redis", cache.GetProperty("description").GetString());

        await _r.Redis.StartAgainAsync();
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Healthy"), "the cache never reported healthy after Redis returned");
        // the change made during the outage reached Redis once it was back
        Assert.True(await Eventually(async () => (await InRedis(flag.Id))?.Version == patched.Version),
            "the write made while Redis was down was not replayed");
        Assert.True((await (await api.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled);
    }

    [Fact]
    public async Task RedisDown_AChangeOnOneReplica_IsServedByTheOtherFromSqlite()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var clientA = a.CreateClient();
        var clientB = b.CreateClient();
        var flag = await (await clientA.PostJson("/api/flags", new { name = Name("outage-pair") })).ReadAs<Flag>();
        // B holds its own copy of the flag as it is now: disabled
        Assert.False((await (await clientB.GetAsync($"/api/flags/{flag.Id}")).ReadAs<Flag>()).Enabled);
        Assert.True(await Eventually(async () => (await _cacheResults.GetAsync(clientB, $"/api/flags/{flag.Id}")).CacheResult == "local"),
            "replica B never answered from its local copy");

        await _r.Redis.KillAsync();
        Assert.True(await Eventually(async () => await CacheStatus(clientB) == "Degraded"), "replica B never noticed Redis was gone");
        // A's change cannot be announced: Redis is down
        await (await clientA.PatchAsync($"/api/flags/{flag.Id}", Body(new { enabled = true }))).ReadAs<Flag>();

        var (read, result) = await _cacheResults.GetAsync(clientB, $"/api/flags/{flag.Id}");
        Assert.True((await read.ReadAs<Flag>()).Enabled, "replica B served its stale copy of a flag replica A changed during the outage");
        Assert.Equal("unavailable", result);
    }

    [Fact]
    public async Task RedisAbsentAtStart_ApiServes_ThenCacheTakesOverWhenRedisArrives()
    {
        await _r.Redis.KillAsync();
        var api = Replica().CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = Name("late-redis") })).ReadAs<Flag>();
        Assert.Equal(flag.Id, (await (await api.GetAsync($"/api/flags/{flag.Name}")).ReadAs<Flag>()).Id);
        Assert.Equal("Degraded", await CacheStatus(api));

        await _r.Redis.StartAgainAsync();
        Assert.True(await Eventually(async () => await CacheStatus(api) == "Healthy"), "the cache never reported healthy after Redis arrived");
        Assert.True(await Eventually(async () => (await InRedis(flag.Id))?.Version == flag.Version),
            "the flag created before Redis arrived never reached it");
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

    private Task<Flag?> InRedis(string id) => _r.InRedis(id);

    private static Task<string?> CacheStatus(HttpClient api) => RedisReplicas.CacheStatus(api);

    private static Task<bool> Eventually(Func<Task<bool>> condition) => Wait.Until(condition);

    private static StringContent Body(object o) => RedisReplicas.Body(o);

    private static string Name(string prefix) => RedisReplicas.Name(prefix);
}
