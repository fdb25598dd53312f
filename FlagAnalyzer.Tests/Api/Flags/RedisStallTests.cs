using System.Net;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// Fault injection: a real redis-server frozen with SIGSTOP (connections open, nothing answers — what a hung Redis or a
/// network blackhole looks like), at most <see cref="StallLimit"/> long, then SIGCONT. A kill switch must never be stale:
/// the writer serves the committed state at once (its snapshot takes its own commit before it answers), another replica
/// as soon as it polls the change feed (Redis's announcement is lost in the stall), and no replica goes back to the old
/// value once Redis answers again. Flag reads never wait on Redis: the snapshot answers them.
/// </summary>
public sealed class RedisStallTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = RedisReplicas.Timeout;
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(20);
    private readonly CacheResults _cacheResults = new();
    private RedisReplicas _r = null!;

    public async Task InitializeAsync() => _r = await RedisReplicas.StartAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    public void Dispose() => _cacheResults.Dispose();

    [Fact]
    public async Task KillSwitch_FlippedDuringStall_WriterServesCommittedState_AtOnceAndAfterRedisReturns()
    {
        var api = Replica().CreateClient();
        var ks = await (await api.PostJson("/api/flags", new { name = Name("ks"), enabled = true })).ReadAs<Flag>();
        Assert.True((await Read(api, ks.Name)).Flag.Enabled);

        using (var stall = _r.Redis.Stall(StallLimit))
        {
            var patched = await (await api.PatchAsync($"/api/flags/{ks.Name}", Body(new { enabled = false })).WaitAsync(Timeout)).ReadAs<Flag>();
            Assert.False(patched.Enabled);

            Assert.Equal("Degraded", await CacheStatus(api));
            var during = await Read(api, ks.Name);
            Assert.Equal((false, "snapshot"), (during.Flag.Enabled, during.CacheResult));
            Assert.False(stall.TimedOut, "the stall outlived its limit before the test resumed it");
        }

        Assert.True(await Wait.Until(async () => await CacheStatus(api) == "Healthy"), "health never reported Redis healthy after it resumed");
        await AssertNeverStale(api, ks.Name);
    }

    [Fact]
    public async Task KillSwitch_FlippedDuringStall_OtherReplicaServesItFromTheFeed_AndNeverGoesBack()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var writer = a.CreateClient();
        var reader = b.CreateClient();
        var ks = await (await writer.PostJson("/api/flags", new { name = Name("ks2"), enabled = true })).ReadAs<Flag>();
        Assert.True(await Wait.Until(async () => await Read(reader, ks.Name) is { Flag.Enabled: true, CacheResult: "snapshot" }),
            "replica B never served the flag from its snapshot");

        using (var stall = _r.Redis.Stall(StallLimit))
        {
            Assert.False((await (await writer.PatchAsync($"/api/flags/{ks.Id}", Body(new { enabled = false })).WaitAsync(Timeout)).ReadAs<Flag>()).Enabled);
            Assert.False((await Read(writer, ks.Name)).Flag.Enabled);

            // no announcement gets through the stall: B's poll of the feed finds the change
            Assert.True(await Wait.Until(async () => !(await Read(reader, ks.Name)).Flag.Enabled),
                "replica B still served the kill switch as enabled during the stall");
            Assert.Equal("Degraded", await CacheStatus(reader));
            Assert.False(stall.TimedOut, "the stall outlived its limit before the test resumed it");
        }

        Assert.True(await Wait.Until(async () => await CacheStatus(reader) == "Healthy" && await CacheStatus(writer) == "Healthy"),
            "a replica never reported Redis healthy after it resumed");
        await AssertNeverStale(reader, ks.Name);
        await AssertNeverStale(writer, ks.Name);

        // and the next change arrives as before
        await (await writer.PatchAsync($"/api/flags/{ks.Id}", Body(new { enabled = true }))).ReadAs<Flag>();
        Assert.True(await Wait.Until(async () => (await Read(reader, ks.Name)).Flag.Enabled), "replica B missed a change made after the stall");
    }

    [Fact]
    public async Task ReadsDuringStall_NeverAskRedis()
    {
        var app = Replica();
        var api = app.CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = Name("fast") })).ReadAs<Flag>();
        var cold = Replica(app.DatabasePath).CreateClient();
        Assert.True(await Wait.Until(async () => (await Read(cold, flag.Id)).CacheResult == "snapshot"), "the second replica never held the flag");

        using (_r.Redis.Stall(StallLimit))
        {
            Assert.True(await Wait.Until(async () => await CacheStatus(cold) == "Degraded"), "the stall was never noticed");
            for (var i = 0; i < 20; i++)
            {
                var read = await Read(cold, flag.Id);
                Assert.Equal((flag.Id, "snapshot"), (read.Flag.Id, read.CacheResult));
            }
            Assert.Equal(HttpStatusCode.Created, (await cold.PostJson("/api/flags", new { name = Name("during") })).StatusCode);
        }
    }

    /// <summary>Reads the kill switch several times from the replica's snapshot: never the state from before the stall.</summary>
    private async Task AssertNeverStale(HttpClient api, string name)
    {
        for (var i = 0; i < 10; i++)
        {
            var read = await Read(api, name);
            Assert.False(read.Flag.Enabled, $"served the pre-stall state (cache result {read.CacheResult})");
            Assert.Equal("snapshot", read.CacheResult);
        }
    }

    private async Task<(Flag Flag, string? CacheResult)> Read(HttpClient api, string idOrName)
    {
        var (response, result) = await _cacheResults.GetAsync(api, $"/api/flags/{idOrName}");
        return (await response.ReadAs<Flag>(), result);
    }

    private ApiFactory Replica(string? databasePath = null) => _r.Replica(databasePath);

    private static Task<string?> CacheStatus(HttpClient api) => RedisReplicas.CacheStatus(api);

    private static StringContent Body(object o) => RedisReplicas.Body(o);

    private static string Name(string prefix) => RedisReplicas.Name(prefix);
}
