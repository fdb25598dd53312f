using System.Net;
using System.Net.Sockets;
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
        for (var i = 0; i < 3; i++) stalled.Add(await Connect(app, smallReceiveBuffer: true));
        var reader = await app.ConnectSeedAsync();

        // 64 KiB events until the stalled sockets hold a backlog, paced by the reading client: an unpaced burst is mostly
        // dropped before the stalled sockets' writers get to it, and the little they send fits in the kernel's buffers
        // (seen on a quiet machine: nothing queued at all). Paced, their writers send until the buffers (16 KiB on the
        // client, at most 4 MiB on the server) are full, block, and everything after that is queued against the cap.
        var blob = new string('x', 64 * 1024);
        for (var batch = 0; batch < 200 && bridge.Usage().QueuedBytes < cap; batch++)
        {
            for (var i = 0; i < 16; i++)
                await app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new { flagId = "flood", i, blob }, "flood"));
            await app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly($"after-{batch}"), $"after-{batch}"));
            await reader.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, $"after-{batch}");
        }

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

    private static async Task<ClientWebSocket> Connect(LiveApp app, bool smallReceiveBuffer = false)
    {
        var ws = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        ws.Options.SetRequestHeader("Authorization", $"Bearer {TestKeys.Admin}");
        var invoker = smallReceiveBuffer ? new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                // set before connecting: a fixed SO_RCVBUF also fixes the window the client advertises
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 16 * 1024 };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        }) : null;
        try
        {
            await ws.ConnectAsync(new UriBuilder(app.BaseUri) { Scheme = "ws", Path = "/ws" }.Uri, invoker, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
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
