using System.Net;
using System.Net.WebSockets;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Live.Ws;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.SignalR.Client;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Assistant;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>A plain <see cref="ClientWebSocket"/> on <c>/ws</c>, sending what the seed README's client sends.</summary>
public sealed class SeedWebSocketTests : IAsyncLifetime
{
    private LiveApp _app = null!;

    public Task InitializeAsync()
    {
        _app = LiveApp.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task FlagChange_SeedClient_ReceivesUpdatedChangedAndPrediction()
    {
        var flagId = await _app.CreateFlagAsync("ws-change");
        var ws = await _app.ConnectSeedAsync();

        var change = await _app.EnableFlagAsync(flagId);

        var updated = await ws.Inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
        Assert.True(updated.GetProperty("payload").GetProperty("enabled").GetBoolean());
        await ws.Inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        await ws.Inbox.WaitFor(LiveEventTypes.PredictionCreated, change.GetProperty("predictionId").GetString());
    }

    [Fact]
    public async Task MetricsWriteAndAnomaly_SeedClient_ReceivesBoth()
    {
        var flagId = await _app.CreateFlagAsync("ws-metrics");
        var ws = await _app.ConnectSeedAsync();

        await _app.RecordMetricsAsync(flagId);
        var recorded = await ws.Inbox.WaitFor(LiveEventTypes.MetricsRecorded, flagId);
        Assert.Equal(5000, recorded.GetProperty("payload").GetProperty("latest").GetProperty("requestCount").GetInt64());

        await _app.EnableFlagAsync(flagId);
        var raised = await _app.RaiseErrorSpikeAsync(flagId);
        var detected = await ws.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, flagId);
        Assert.Equal(raised.GetProperty("id").GetString(), detected.GetProperty("payload").GetProperty("id").GetString());
        Assert.Equal("error_spike", detected.GetProperty("payload").GetProperty("type").GetString());
    }

    [Fact]
    public async Task SubscribeAnomalies_AddsAnomalies_AndKeepsFlagAndPredictionEvents()
    {
        var flagId = await _app.CreateFlagAsync("ws-anomalies");
        var ws = await _app.ConnectSeedAsync();

        // what the seed's client does right after connecting
        await ws.SendAsync("""{ "type": "subscribe_anomalies" }""");
        await ws.Inbox.WaitFor(WsMessages.Subscribed);
        var change = await _app.EnableFlagAsync(flagId);
        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly(flagId), flagId));

        await ws.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, flagId);
        await ws.Inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
        await ws.Inbox.WaitFor(LiveEventTypes.PredictionCreated, change.GetProperty("predictionId").GetString());
    }

    [Fact]
    public async Task Chat_SeedMessage_GetsChatResponseAndOnlyItsOwnSessionsChatEvents()
    {
        var ws = await _app.ConnectSeedAsync();
        var bystander = await _app.ConnectSeedAsync();

        await ws.SendAsync("""{ "type": "chat", "payload": { "message": "Show me active anomalies", "sessionId": "ws-session" } }""");

        var reply = await ws.Inbox.WaitFor(WsMessages.ChatResponse);
        var payload = reply.GetProperty("payload");
        Assert.Equal("ws-session", payload.GetProperty("sessionId").GetString());
        // no model in this app: the data answers, says so, and finds nothing open in a fresh database
        Assert.Equal("statistical", payload.GetProperty("source").GetString());
        Assert.StartsWith(DataAnswerer.NoModelNotice, payload.GetProperty("reply").GetString());
        Assert.Contains("There are no active anomalies.", payload.GetProperty("reply").GetString());
        // the assistant's finished message arrives as a live event too, with the same content
        var answer = await ws.Inbox.WaitFor(m => LiveInbox.Is(m, LiveEventTypes.ChatMessage, "ws-session")
            && m.GetProperty("payload").GetProperty("role").GetString() == "assistant", "assistant chat.message");
        Assert.Equal(payload.GetProperty("reply").GetString(), answer.GetProperty("payload").GetProperty("content").GetString());

        // a later event reaches the bystander after any chat event would have: it got none of them
        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly("after-chat"), "after-chat"));
        await bystander.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, "after-chat");
        Assert.DoesNotContain(bystander.Inbox.Items, m => LiveInbox.Type(m).StartsWith("chat", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chat_WithoutSessionId_RepliesWithTheNewSession()
    {
        var ws = await _app.ConnectSeedAsync();

        await ws.SendAsync("""{ "type": "chat", "payload": { "message": "What are the current risks?" } }""");

        var reply = await ws.Inbox.WaitFor(WsMessages.ChatResponse);
        Assert.StartsWith("ses_", reply.GetProperty("payload").GetProperty("sessionId").GetString());
    }

    [Theory]
    [InlineData("{ not json", "Malformed JSON")]
    [InlineData("""{ "type": "dance" }""", "Unknown message type 'dance'")]
    [InlineData("""[ "chat" ]""", "\"type\"")]
    [InlineData("""{ "type": "chat", "payload": {} }""", "payload.message")]
    [InlineData("""{ "type": "chat", "payload": { "message": "hi", "sessionId": "a b" } }""", "payload.sessionId")]
    [InlineData("""{ "type": "chat", "payload": { "message": "hi", "sessionId": 7 } }""", "payload.sessionId must be a string")]
    [InlineData("""{ "type": "chat" }""", "payload is required")]
    public async Task BadMessage_GetsAnErrorAndTheSocketKeepsWorking(string frame, string expected)
    {
        var ws = await _app.ConnectSeedAsync();

        await ws.SendAsync(frame);
        var error = await ws.Inbox.WaitFor(WsMessages.Error);
        await ws.SendAsync("""{ "type": "subscribe_anomalies" }""");

        Assert.Contains(expected, error.GetProperty("payload").GetProperty("message").GetString());
        await ws.Inbox.WaitFor(WsMessages.Subscribed);
        Assert.Equal(WebSocketState.Open, ws.Socket.State);
    }

    [Fact]
    public async Task OversizedMessage_GetsAnErrorAndTheSocketKeepsWorking()
    {
        var ws = await _app.ConnectSeedAsync();
        var huge = $$"""{ "type": "chat", "payload": { "message": "{{new string('x', 70 * 1024)}}" } }""";

        await ws.SendAsync(huge);
        var error = await ws.Inbox.WaitFor(WsMessages.Error);
        await ws.SendAsync("""{ "type": "chat", "payload": { "message": "still there?" } }""");

        Assert.Contains("64 KiB", error.GetProperty("payload").GetProperty("message").GetString());
        await ws.Inbox.WaitFor(WsMessages.ChatResponse);
        Assert.Single(ws.Inbox.Items, m => LiveInbox.Type(m) == WsMessages.Error);
    }

    [Fact]
    public async Task StalledSocket_DoesNotHoldUpOtherClients()
    {
        using var stalled = new ClientWebSocket();
        stalled.Options.SetRequestHeader("Authorization", $"Bearer {TestKeys.Admin}");
        await stalled.ConnectAsync(new UriBuilder(_app.BaseUri) { Scheme = "ws", Path = "/ws" }.Uri, CancellationToken.None);
        var reader = await _app.ConnectSeedAsync();
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Anomalies);

        // 3,000 x 8 KiB: more than the socket's queue (512 messages) plus what loopback socket buffers hold
        var blob = new string('x', 8 * 1024);
        for (var i = 0; i < 3000; i++)
            await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new { flagId = "flood", i, blob }, "flood"));
        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly("after-flood"), "after-flood"));

        await inbox.WaitFor(LiveEventTypes.AnomalyDetected, "after-flood");
        await reader.Inbox.WaitFor(LiveEventTypes.AnomalyDetected, "after-flood");
        stalled.Abort();
    }

    [Fact]
    public async Task UnserializablePayload_IsDroppedWithoutDisconnectingAnyClient()
    {
        var flagId = await _app.CreateFlagAsync("ws-bad-payload");
        var ws = await _app.ConnectSeedAsync();
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.All);

        // a cycle cannot be serialized: the publisher of such a bug must not stop live updates for everyone
        var cyclic = new Node();
        cyclic.Next = cyclic;
        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, cyclic, flagId));
        var change = await _app.EnableFlagAsync(flagId);

        await ws.Inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        await inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        Assert.Equal(HubConnectionState.Connected, hub.State);
        Assert.DoesNotContain(inbox.Items.Concat(ws.Inbox.Items), m => LiveInbox.Type(m) == LiveEventTypes.MetricsRecorded);
    }

    private sealed class Node
    {
        public Node? Next { get; set; }
    }

    [Fact]
    public async Task PlainHttpGet_OnWs_Is400()
    {
        var response = await _app.Http.GetAsync("/ws");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
