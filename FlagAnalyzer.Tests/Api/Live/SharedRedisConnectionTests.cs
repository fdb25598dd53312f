using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>
/// The flag cache, the SignalR backplane and the /ws bridge share the process's one Redis connection
/// (Storage/RedisConnection): one connection pair per process on a real redis-server, not three.
/// </summary>
public sealed class SharedRedisConnectionTests : IAsyncLifetime
{
    private const string InspectorName = "shared-connection-inspector";
    private RedisServer _redis = null!;
    private LiveApp _app = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _app = LiveApp.Start(_redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task CacheBackplaneAndWsBridge_UseOneMultiplexer()
    {
        var services = _app.Factory.Services;
        var shared = Assert.Single(services.GetServices<IConnectionMultiplexer>());
        Assert.Same(shared, await services.GetRequiredService<IOptions<RedisOptions>>().Value.ConnectionFactory!(TextWriter.Null));
        // the flag cache is the evaluation snapshot: Redis holds no copy of the flags, it announces revisions
        Assert.IsType<FlagAnalyzer.Api.Evaluation.FlagSnapshotStore>(services.GetRequiredService<IFlagCache>());

        // all in use: a change announced on Redis, an event over the backplane and over /ws
        var flagId = await _app.CreateFlagAsync("shared-connection");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
        var ws = await _app.ConnectSeedAsync();
        await _app.EnableFlagAsync(flagId);
        await inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
        await _app.RecordMetricsAsync(flagId);
        await ws.Inbox.WaitFor(LiveEventTypes.MetricsRecorded, flagId);
        (await _app.Http.GetAsync($"/api/flags/{flagId}")).EnsureSuccessStatusCode();

        await using var inspector = await ConnectionMultiplexer.ConnectAsync(
            $"{_redis.ConnectionString},allowAdmin=true,name={InspectorName}").WaitAsync(LiveInbox.Timeout);
        var clients = (await inspector.GetServer(inspector.GetEndPoints()[0]).ClientListAsync())
            .Where(c => c.Name != InspectorName).ToList();

        // one multiplexer: one interactive connection and one subscription connection
        Assert.True(clients.Count == 2, $"expected one connection pair, found {clients.Count}: {string.Join(" | ", clients.Select(c => c.Raw))}");
        Assert.Single(clients, c => c.SubscriptionCount + c.PatternSubscriptionCount > 0);
    }

    [Fact]
    public async Task StoppingWithABackplaneSubscriber_NeverUsesTheSharedConnectionAfterItIsDisposed()
    {
        // the app's own stop is the assertion: with the shared connection disposed before the backplane, disposing
        // throws ObjectDisposedException from the backplane's unsubscribe
        for (var i = 0; i < 5; i++)
        {
            var app = LiveApp.Start(_redis.ConnectionString);
            var flagId = await app.CreateFlagAsync($"stop-{i}");
            var (hub, inbox) = await app.ConnectHubAsync();
            await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
            await app.EnableFlagAsync(flagId);
            await inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
            await app.DisposeAsync();
            await hub.DisposeAsync();
        }
    }
}
