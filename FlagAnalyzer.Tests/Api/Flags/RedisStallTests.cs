using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// Fault injection: a real redis-server frozen with SIGSTOP (connections open, nothing answers — what a hung
/// Redis or a network blackhole looks like), at most <see cref="StallLimit"/> long, then SIGCONT. A kill switch
/// must never be stale: the writer serves the committed state at once, another replica as soon as it cannot
/// be sure of its copy, and no replica goes back to the old value once Redis answers again.
/// </summary>
public sealed class RedisStallTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = RedisReplicas.Timeout;
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(20);
    private readonly ConcurrentDictionary<ActivityTraceId, string> _cacheResults = new();
    private readonly ConcurrentDictionary<ActivityTraceId, string> _unavailableReasons = new();
    private readonly ActivityListener _listener;
    private RedisReplicas _r = null!;

    public RedisStallTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "FlagAnalyzer.Flags",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.OperationName == "flag-cache get" && a.GetTagItem(FlagCacheTelemetry.ResultTag) is string result)
                    _cacheResults[a.TraceId] = result;
                if (a.OperationName == "flag-cache get" && a.GetTagItem(FlagCacheTelemetry.UnavailableTag) is string reason)
                    _unavailableReasons[a.TraceId] = reason;
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async Task InitializeAsync() => _r = await RedisReplicas.StartAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    public void Dispose() => _listener.Dispose();

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

            // the write's Redis call timed out: the circuit is open, health says so, reads come from SQLite
            Assert.Equal("Degraded", await CacheStatus(api));
            var during = await Read(api, ks.Name);
            Assert.Equal((false, "unavailable"), (during.Flag.Enabled, during.CacheResult));
            Assert.False(stall.TimedOut, "the stall outlived its limit before the test resumed it");
        }

        Assert.True(await Wait.Until(async () => await CacheStatus(api) == "Healthy"), "the cache never reported healthy after Redis resumed");
        Assert.True(await Wait.Until(async () => (await InRedis(ks.Id))?.Enabled == false), "the write made during the stall never reached Redis");
        await AssertNeverStaleUntilCached(api, ks.Name);
    }

    [Fact]
    public async Task KillSwitch_FlippedDuringStall_OtherReplicaFallsBackToSqlite_AndNeverGoesBack()
    {
        var a = Replica();
        var b = Replica(a.DatabasePath);
        var writer = a.CreateClient();
        var reader = b.CreateClient();
        var ks = await (await writer.PostJson("/api/flags", new { name = Name("ks2"), enabled = true })).ReadAs<Flag>();
        // B holds the enabled flag in its local copy once its lease is live
        Assert.True(await Wait.Until(async () => await Read(reader, ks.Name) is { Flag.Enabled: true, CacheResult: "local" }),
            "replica B never served the flag from its local copy");

        using (_r.Redis.Stall(StallLimit))
        {
            Assert.False((await (await writer.PatchAsync($"/api/flags/{ks.Id}", Body(new { enabled = false })).WaitAsync(Timeout)).ReadAs<Flag>()).Enabled);
            Assert.False((await Read(writer, ks.Name)).Flag.Enabled);

            // B makes no Redis call of its own for a local read: its heartbeat notices the stall
            Assert.True(await Wait.Until(async () => await CacheStatus(reader) == "Degraded"), "replica B still says Redis is healthy during the stall");
            var during = await Read(reader, ks.Name);
            Assert.Equal((false, "unavailable"), (during.Flag.Enabled, during.CacheResult));
        }

        Assert.True(await Wait.Until(async () => await CacheStatus(reader) == "Healthy" && await CacheStatus(writer) == "Healthy"),
            "a replica never reported healthy after Redis resumed");
        await AssertNeverStaleUntilCached(reader, ks.Name);
        await AssertNeverStaleUntilCached(writer, ks.Name);

        // and invalidation through Redis works again
        await (await writer.PatchAsync($"/api/flags/{ks.Id}", Body(new { enabled = true }))).ReadAs<Flag>();
        Assert.True(await Wait.Until(async () => (await Read(reader, ks.Name)).Flag.Enabled), "replica B missed a change made after the stall");
    }

    [Fact]
    public async Task ReadsDuringStall_DoNotWaitOnRedis_AfterTheFirstTimeout()
    {
        var app = Replica();
        var api = app.CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = Name("fast") })).ReadAs<Flag>();
        // a second replica has no local copy: every read of it would be a Redis round trip
        var cold = Replica(app.DatabasePath).CreateClient();

        using (_r.Redis.Stall(StallLimit))
        {
            Assert.True(await Wait.Until(async () => await CacheStatus(cold) == "Degraded"), "the stall was never noticed");
            // "unavailable" alone would also follow a read that asked the stalled Redis and paid the timeout: the reason
            // says the open circuit skipped Redis
            for (var i = 0; i < 20; i++)
            {
                var read = await Read(cold, flag.Id);
                Assert.Equal((flag.Id, "unavailable", "circuit_open"), (read.Flag.Id, read.CacheResult, read.UnavailableReason));
            }
            Assert.Equal(HttpStatusCode.Created, (await cold.PostJson("/api/flags", new { name = Name("during") })).StatusCode);
        }
    }

    /// <summary>
    /// Reads until the replica answers from its cache again (local copy or Redis), asserting that no read on the way
    /// — SQLite while settling, then the cache — returns the kill switch as it was before the stall.
    /// </summary>
    private async Task AssertNeverStaleUntilCached(HttpClient api, string name)
    {
        var cached = await Wait.Until(async () =>
        {
            var read = await Read(api, name);
            Assert.False(read.Flag.Enabled, $"served the pre-stall state (cache result {read.CacheResult})");
            return read.CacheResult is "local" or "redis";
        });
        Assert.True(cached, "the replica never trusted its cache again");
    }

    private async Task<(Flag Flag, string? CacheResult, string? UnavailableReason)> Read(HttpClient api, string idOrName)
    {
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/flags/{idOrName}");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        var flag = await (await api.SendAsync(request).WaitAsync(Timeout)).ReadAs<Flag>();
        return (flag, _cacheResults.TryRemove(traceId, out var result) ? result : null,
            _unavailableReasons.TryRemove(traceId, out var reason) ? reason : null);
    }

    private ApiFactory Replica(string? databasePath = null) => _r.Replica(databasePath);

    private Task<Flag?> InRedis(string id) => _r.InRedis(id);

    private static Task<string?> CacheStatus(HttpClient api) => RedisReplicas.CacheStatus(api);

    private static StringContent Body(object o) => RedisReplicas.Body(o);

    private static string Name(string prefix) => RedisReplicas.Name(prefix);
}
