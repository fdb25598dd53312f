using System.Net;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.AppHost;

[Collection("AppHost")]
public sealed class AppHostCacheTests(AppHostFixture stack) : IClassFixture<AppHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Flag_CreatedThroughTheStack_IsReadBack_AndItsRevisionAnnouncedOnRedis()
    {
        var api = stack.Api();
        var cs = await stack.App.GetConnectionStringAsync("cache").AsTask().WaitAsync(Timeout);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cs!).WaitAsync(Timeout);
        var announced = new System.Collections.Concurrent.ConcurrentQueue<string>();
        (await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(ChangeFeed.AnnounceChannel)).WaitAsync(Timeout))
            .OnMessage(m => announced.Enqueue(m.Message.ToString()));
        var name = $"stack-{Guid.NewGuid():N}"[..24];
        var created = await (await api.PostJson("/api/flags", new { name, enabled = true }).WaitAsync(Timeout)).ReadAs<Flag>();

        var read = await (await api.GetAsync($"/api/flags/{name}").WaitAsync(Timeout)).ReadAs<Flag>();
        Assert.Equal((created.Id, true), (read.Id, read.Enabled));

        var change = (await (await api.GetAsync($"/api/flags/{created.Id}/changes").WaitAsync(Timeout)).ReadAs<Page<FlagChange>>()).Items.Single();
        Assert.True(await FlagAnalyzer.Tests.Support.Wait.Until(() => Task.FromResult(announced.Contains(change.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            $"revision {change.Revision} was never announced on Redis");
    }

    [Fact]
    public async Task Health_ReportsRedisByAddress()
    {
        var health = await stack.Api().GetAsync("/health").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        var cs = await stack.App.GetConnectionStringAsync("cache").AsTask().WaitAsync(Timeout);
        Assert.Equal(("Healthy", $"Redis at {cs}"), (cache.GetProperty("status").GetString(), cache.GetProperty("description").GetString()));
    }
}
