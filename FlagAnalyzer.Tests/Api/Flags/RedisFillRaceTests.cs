using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
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
    private static readonly TimeSpan Timeout = RedisCaches.Timeout;
    private RedisCaches _caches = null!;

    public async Task InitializeAsync() => _caches = await RedisCaches.StartAsync();

    public async Task DisposeAsync() => await _caches.DisposeAsync();

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
        writerClock.Advance(_caches.Options.ProbeInterval);
        Assert.True(await Wait.Until(async () => await Inspect.KeyExistsAsync(RedisFlagCache.FlagKeyPrefix + flag.Id)),
            "the held delete was not replayed");
        await writer.FillAsync(flag);
        Assert.Null(await InRedis(flag.Id));
        Assert.Null(await other.GetAsync(flag.Id));
    }

    private IDatabase Inspect => _caches.Inspect;

    private async Task<string?> InRedis(string id) =>
        await Inspect.HashGetAsync(RedisFlagCache.FlagKeyPrefix + id, "json").WaitAsync(Timeout);

    private Task AllowScripts(bool allowed) => _caches.AllowScripts(allowed);

    private Task<(RedisFlagCache Cache, FakeTimeProvider Clock)> Replica() => _caches.AddAsync();

    private static Flag NewFlag() => RedisCaches.NewFlag("fill-race");
}
