using System.Collections.Concurrent;
using FlagAnalyzer.Api.Flags;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// <see cref="RedisFlagCache.RepairAsync"/>, which each replica calls when PostgreSQL notifies it of a commit that nothing
/// says reached Redis (the writer died before its write-through): against a real redis-server, several replicas at once.
/// </summary>
public sealed class RedisRepairTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = RedisCaches.Timeout;
    private RedisCaches _caches = null!;

    // a loaded machine must not trip the circuit (a write then waits for a replay that the fake clock never runs)
    public async Task InitializeAsync() => _caches = await RedisCaches.StartAsync(new() { RedisTimeout = TimeSpan.FromSeconds(5) });

    public async Task DisposeAsync() => await _caches.DisposeAsync();

    [Fact]
    public async Task Repair_OfAVersionThatNeverReachedRedis_ReplacesTheStaleEntry_ForEveryReplica()
    {
        var writer = await Replica();
        var reader = await Replica();
        var v1 = NewFlag();
        await writer.SetAsync(v1);
        Assert.Equal(1, (await reader.GetAsync(v1.Id))?.Version);
        var v2 = v1 with { Version = 2, Enabled = true }; // committed; its writer died before telling Redis

        Assert.False(reader.Holds(v1.Id, 2));
        Assert.True(await reader.RepairAsync(v2));

        Assert.True(reader.Holds(v1.Id, 2));
        Assert.Equal(2, (long)await Inspect.HashGetAsync(RedisFlagCache.FlagKeyPrefix + v1.Id, "v").WaitAsync(Timeout));
        Assert.Equal(2, (await reader.GetAsync(v1.Id))?.Version);
        Assert.Equal(2, (await (await Replica()).GetAsync(v1.Id))?.Version);
    }

    [Fact]
    public async Task Repair_NeverMovesAFlagBackwards_NorBringsBackADeletedOne()
    {
        var writer = await Replica();
        var reader = await Replica();
        var flag = NewFlag();
        await writer.SetAsync(flag with { Version = 3 });
        Assert.True(await reader.RepairAsync(flag with { Version = 2 })); // Redis already holds newer: done, and left alone
        Assert.Equal(3, (long)await Inspect.HashGetAsync(RedisFlagCache.FlagKeyPrefix + flag.Id, "v").WaitAsync(Timeout));

        var deleted = NewFlag();
        await writer.SetAsync(deleted);
        await writer.RemoveAsync(deleted);
        Assert.True(writer.Holds(deleted.Id, RedisFlagCache.DeletedVersion), "the delete was held, not written: Redis did not answer in time");
        await reader.RepairAsync(deleted with { Version = 2 }); // a repair read from the database just before the delete committed
        Assert.False((await Inspect.HashGetAsync(RedisFlagCache.FlagKeyPrefix + deleted.Id, "json").WaitAsync(Timeout)).HasValue);
        Assert.Null(await reader.GetAsync(deleted.Id));
    }

    [Fact]
    public async Task Repair_ByThreeReplicasHearingTheSameNotification_WritesAndAnnouncesOnce()
    {
        var replicas = new[] { await Replica(), await Replica(), await Replica() };
        var flag = NewFlag();
        await replicas[0].SetAsync(flag);
        var announced = new ConcurrentQueue<string>();
        var marker = $"marker-{Guid.NewGuid():N}";
        var markerSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = RedisChannel.Literal(RedisFlagCache.Channel);
        (await _caches.Subscriber.SubscribeAsync(channel).WaitAsync(Timeout)).OnMessage(m =>
        {
            if ((string?)m.Message == marker) markerSeen.TrySetResult();
            else if (((string?)m.Message ?? "").Contains($"|{flag.Id}|2|", StringComparison.Ordinal)) announced.Enqueue(m.Message!);
        });

        var results = await Task.WhenAll(replicas.Select(r => r.RepairAsync(flag with { Version = 2 }).AsTask()));

        Assert.All(results, Assert.True);
        // Redis delivers one channel's messages in order: once the marker, published after every repair, arrives, so has every announcement
        await _caches.Subscriber.PublishAsync(channel, marker).WaitAsync(Timeout);
        await markerSeen.Task.WaitAsync(Timeout);
        Assert.Single(announced);
    }

    [Fact]
    public async Task Repair_WhileThisReplicaHoldsAWriteForReplay_IsNotOffered_AndSaysSo()
    {
        var replica = await Replica();
        var flag = NewFlag();
        // Redis answers but refuses scripts (not an outage, so the circuit stays closed): the delete of another flag is held
        await AllowScripts(false);
        await replica.RemoveAsync(NewFlag());
        await AllowScripts(true);

        Assert.False(await replica.RepairAsync(flag)); // Redis is not trusted until that replay: try again later
        Assert.False(await Inspect.KeyExistsAsync(RedisFlagCache.FlagKeyPrefix + flag.Id).WaitAsync(Timeout));
    }

    private IDatabase Inspect => _caches.Inspect;

    private Task AllowScripts(bool allowed) => _caches.AllowScripts(allowed);

    private async Task<RedisFlagCache> Replica() => (await _caches.AddAsync()).Cache;

    private static Flag NewFlag() => RedisCaches.NewFlag("repair");
}
