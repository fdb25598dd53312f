using System.Net;
using System.Net.WebSockets;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Live.Ws;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>What a <c>/ws</c> client can cost the server: queued bytes per socket, sockets per address and in total.</summary>
public sealed class WsLimitsTests
{
    [Fact]
    public async Task NonReadingClients_HoldAtMostTheirByteCap_AndLetItGoWhenTheyLeave()
    {
        const long cap = 256 * 1024;
        await using var app = LiveApp.Start(services: s => s.Configure<WsOptions>(o => o.MaxQueueBytes = cap));
        var bridge = app.Factory.Services.GetRequiredService<WsBridge>();
        var stalled = new List<ClientWebSocket>();
        for (var i = 0; i < 3; i++) stalled.Add(await Connect(app));
        var reader = await app.ConnectSeedAsync();

        // 1,000 x 64 KiB = 62.5 MiB per socket if nothing bounded it: more than loopback socket buffers absorb
        // (here up to 4 MiB sent + 32 MiB received per socket)
        var blob = new string('x', 64 * 1024);
        for (var i = 0; i < 1000; i++)
            await app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new { flagId = "flood", i, blob }, "flood"));
        await app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly("after-flood"), "after-flood"));
        await reader.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, "after-flood");

        var (connections, queued) = bridge.Usage();
        Assert.Equal(4, connections);
        Assert.InRange(queued, 1, 4 * cap);

        foreach (var ws in stalled) ws.Abort();
        Assert.True(await Wait.Until(() => Task.FromResult(bridge.Usage().Connections == 1)), "the server still holds the aborted sockets");
        Assert.True(bridge.Usage().QueuedBytes <= cap, "the sockets that left still hold their queues");
        foreach (var ws in stalled) ws.Dispose();
    }

    [Fact]
    public async Task ConnectionsPerAddress_AreCapped_AndTheSlotIsFreedOnClose()
    {
        await using var app = LiveApp.Start(services: s => s.Configure<WsOptions>(o => o.MaxConnectionsPerAddress = 2));
        var first = await Connect(app);
        var second = await Connect(app);

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => Connect(app));
        Assert.Equal(HttpStatusCode.TooManyRequests, Status(refused));

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        var bridge = app.Factory.Services.GetRequiredService<WsBridge>();
        Assert.True(await Wait.Until(() => Task.FromResult(bridge.Usage().Connections == 1)), "the closed socket was never released");
        using var third = await Connect(app);
        Assert.Equal(WebSocketState.Open, third.State);
        second.Dispose();
        first.Dispose();
    }

    [Fact]
    public async Task ConnectionsInTotal_AreCapped()
    {
        await using var app = LiveApp.Start(services: s => s.Configure<WsOptions>(o => o.MaxConnections = 2));
        using var a = await Connect(app);
        using var b = await Connect(app);

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => Connect(app));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, Status(refused));
    }

    private static async Task<ClientWebSocket> Connect(LiveApp app)
    {
        var ws = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        ws.Options.SetRequestHeader("Authorization", $"Bearer {TestKeys.Admin}");
        try
        {
            await ws.ConnectAsync(new UriBuilder(app.BaseUri) { Scheme = "ws", Path = "/ws" }.Uri, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        }
        catch (WebSocketException e)
        {
            e.Data["status"] = ws.HttpStatusCode;
            ws.Dispose();
            throw;
        }
        return ws;
    }

    private static HttpStatusCode? Status(WebSocketException e) => e.Data["status"] as HttpStatusCode?;
}
