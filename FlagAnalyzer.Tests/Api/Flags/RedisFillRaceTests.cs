using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// The exact interleavings of <see cref="DeleteRaceTests"/>, one at a time, on the Redis cache itself against a real
/// redis-server: a read fetches the row from SQLite before a delete commits and offers it to the cache (its fill) only
/// after the delete went through the cache. The replicas run on a fake clock, so their probe (which replays held
/// writes) runs only when a test moves the clock.
/// </summary>
public sealed class RedisFillRaceTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = RedisReplicas.Timeout;
    private readonly FlagCacheOptions _options = new();
    private readonly List<(RedisFlagCache Cache, ConnectionMultiplexer Connection)> _replicas = [];
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _inspector = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _inspector = await Connect();
    }

    public async Task DisposeAsync()
    {
        foreach (var (cache, connection) in _replicas)
        {
            await cache.StopAsync().WaitAsync(Timeout);
            cache.Dispose();
            await connection.DisposeAsync();
        }
        await _inspector.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task AFillOfARowReadBeforeADelete_ArrivingAfterIt_BringsTheFlagBackNowhere()
    {
        var (writer, _) = await Replica();
        var (other, _) = await Replica();
        var flag = NewFlag();
        await writer.SetAsync(flag);
        Assert.Equal(flag.Version, (await other.GetAsync(flag.Id))?.Version); // Redis held it: the delete has something to remove

        await writer.RemoveAsync(flag); // committed and acknowledged
        await writer.FillAsync(flag);   // the read that fetched the row just before the commit

        Assert.Null(await InRedis(flag.Id));
        Assert.Null(await writer.GetAsync(flag.Id));
        Assert.Null(await other.GetAsync(flag.Id));
    }

    [Fact]
    public async Task AFill_WhileThisReplicasDeleteWaitsForReplay_IsNotWrittenForOtherReplicasToServe()
    {
        var (writer, writerClock) = await Replica();
        var (other, _) = await Replica();
        var flag = NewFlag(); // not in Redis: nothing there yet to refuse an old row

        // Redis answers but refuses the delete's script (not an outage, so the circuit stays closed): the delete is held
        await AllowScripts(false);
        await writer.RemoveAsync(flag);
        await AllowScripts(true);
        Assert.False(await Inspect.KeyExistsAsync(RedisFlagCache.FlagKeyPrefix + flag.Id).WaitAsync(Timeout)); // no tombstone yet

        await writer.FillAsync(flag); // a read that fetched the row before the delete committed

        Assert.Null(await InRedis(flag.Id));
        Assert.Null(await other.GetAsync(flag.Id));

        // the next probe replays the held delete: the tombstone lands, and the writer trusts Redis again
        writerClock.Advance(_options.ProbeInterval);
        Assert.True(await Wait.Until(async () => await Inspect.KeyExistsAsync(RedisFlagCache.FlagKeyPrefix + flag.Id)),
            "the held delete was not replayed");
        await writer.FillAsync(flag);
        Assert.Null(await InRedis(flag.Id));
        Assert.Null(await other.GetAsync(flag.Id));
    }

    private IDatabase Inspect => _inspector.GetDatabase();

    private async Task<string?> InRedis(string id) =>
        await Inspect.HashGetAsync(RedisFlagCache.FlagKeyPrefix + id, "json").WaitAsync(Timeout);

    private Task AllowScripts(bool allowed) =>
        Inspect.ExecuteAsync("ACL", "SETUSER", "default", allowed ? "+eval" : "-eval", allowed ? "+evalsha" : "-evalsha").WaitAsync(Timeout);

    private async Task<(RedisFlagCache Cache, FakeTimeProvider Clock)> Replica()
    {
        var connection = await Connect();
        var clock = new FakeTimeProvider();
        var cache = new RedisFlagCache(connection, Options.Create(_options), NullLogger<RedisFlagCache>.Instance, clock);
        _replicas.Add((cache, connection));
        await cache.StartAsync().WaitAsync(Timeout);
        return (cache, clock);
    }

    private Task<ConnectionMultiplexer> Connect() =>
        ConnectionMultiplexer.ConnectAsync($"{_redis.ConnectionString},abortConnect=false").WaitAsync(Timeout);

    private static Flag NewFlag() => new()
    {
        Id = $"flg_{Guid.NewGuid():N}",
        Name = RedisReplicas.Name("fill-race"),
        Version = 1,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };
}
