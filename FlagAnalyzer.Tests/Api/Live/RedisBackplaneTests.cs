using FlagAnalyzer.Tests.Support;
using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Live;
using Microsoft.AspNetCore.SignalR.Client;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>Two API instances (replicas over one database) sharing one real redis-server.</summary>
public sealed class RedisBackplaneTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private LiveApp _a = null!;
    private LiveApp _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _a = LiveApp.Start(_redis.ConnectionString);
        _b = LiveApp.Start(_redis.ConnectionString, _a.Factory.DatabasePath);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task FlagChangeOnB_HubClientOnA_ReceivesIt()
    {
        var flagId = await _b.CreateFlagAsync("replicas-hub");
        var (hub, inbox) = await _a.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));

        var change = await _b.EnableFlagAsync(flagId);

        await inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
        await inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        await inbox.WaitFor(LiveEventTypes.PredictionCreated, change.GetProperty("predictionId").GetString());
    }

    [Fact]
    public async Task MetricsOnB_SeedSocketOnA_ReceivesIt()
    {
        var flagId = await _b.CreateFlagAsync("replicas-ws");
        var ws = await _a.ConnectSeedAsync();

        await _b.RecordMetricsAsync(flagId);

        await ws.Inbox.WaitFor(LiveEventTypes.MetricsRecorded, flagId);
    }

    [Fact]
    public async Task EventOnA_HubClientOnA_StillReceivesItOnce()
    {
        var flagId = await _a.CreateFlagAsync("replicas-local");
        var marker = await _a.CreateFlagAsync("replicas-local-marker");
        var (hub, inbox) = await _a.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.All);
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));

        await _a.EnableFlagAsync(flagId);
        var last = await _a.EnableFlagAsync(marker);

        await inbox.WaitFor(LiveEventTypes.FlagChanged, last.GetProperty("id").GetString());
        Assert.Single(inbox.Items, m => LiveInbox.Is(m, LiveEventTypes.FlagChanged, flagId));
    }

    [Fact]
    public async Task RedisDown_FlagChangesStillSucceed()
    {
        var flagId = await _a.CreateFlagAsync("redis-down");
        await _redis.KillAsync();

        var response = await _a.Http.PostAsJsonAsync("/api/flags/change", new { flagId, changeType = "disabled", changedBy = "ops", environment = "staging" });
        var flag = await _a.Http.GetAsync($"/api/flags/{flagId}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((await flag.ReadJson()).GetProperty("enabled").GetBoolean());
    }
}
