using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Live;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>A real <see cref="HubConnection"/> over a real WebSocket to <c>/hubs/live</c>.</summary>
public sealed class LiveHubTests : IAsyncLifetime
{
    private LiveApp _app = null!;

    public Task InitializeAsync()
    {
        _app = LiveApp.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task FlagChange_AllSubscriber_ReceivesUpdatedChangedAndPredictionEnvelopes()
    {
        var flagId = await _app.CreateFlagAsync("hub-change");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.All);

        var change = await _app.EnableFlagAsync(flagId);

        var updated = await inbox.WaitFor(LiveEventTypes.FlagUpdated, flagId);
        Assert.True(updated.GetProperty("payload").GetProperty("enabled").GetBoolean());
        Assert.Equal(10, updated.GetProperty("payload").GetProperty("rolloutPercentage").GetDouble());
        var changed = await inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        Assert.Equal("enabled", changed.GetProperty("payload").GetProperty("changeType").GetString());
        var prediction = await inbox.WaitFor(LiveEventTypes.PredictionCreated, change.GetProperty("predictionId").GetString());
        Assert.Equal(flagId, prediction.GetProperty("payload").GetProperty("flagId").GetString());
        // the API's JSON conventions: camelCase names, null fields present rather than left out
        Assert.Equal(JsonValueKind.Null, changed.GetProperty("payload").GetProperty("reason").ValueKind);
        Assert.Equal(["type", "payload"], updated.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task MetricsWrite_FlagSubscriber_ReceivesMetricsRecorded()
    {
        var flagId = await _app.CreateFlagAsync("hub-metrics");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));

        await _app.RecordMetricsAsync(flagId);

        var recorded = await inbox.WaitFor(LiveEventTypes.MetricsRecorded, flagId);
        Assert.Equal(1, recorded.GetProperty("payload").GetProperty("count").GetInt32());
        Assert.Equal(45, recorded.GetProperty("payload").GetProperty("latest").GetProperty("latencyP50").GetDouble());
    }

    [Fact]
    public async Task Anomaly_AnomaliesSubscriber_ReceivesItButNotFlagUpdates()
    {
        var flagId = await _app.CreateFlagAsync("hub-anomaly");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Anomalies);

        await _app.EnableFlagAsync(flagId);
        var raised = await _app.RaiseErrorSpikeAsync(flagId);

        var detected = await inbox.WaitFor(LiveEventTypes.AnomalyDetected, flagId);
        Assert.Equal("error_spike", detected.GetProperty("payload").GetProperty("type").GetString());
        Assert.Equal(raised.GetProperty("id").GetString(), detected.GetProperty("payload").GetProperty("id").GetString());
        // one pump delivers in order: the flag's events were published first, so they would have arrived first
        Assert.All(inbox.Items, m => Assert.StartsWith("anomaly.", LiveInbox.Type(m)));
    }

    [Fact]
    public async Task FlagSubscriber_DoesNotReceiveAnotherFlagsEvents()
    {
        var mine = await _app.CreateFlagAsync("hub-mine");
        var other = await _app.CreateFlagAsync("hub-other");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(mine));

        await _app.EnableFlagAsync(other);
        await _app.RecordMetricsAsync(other);
        var change = await _app.EnableFlagAsync(mine);

        await inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        Assert.DoesNotContain(inbox.Items, m => LiveInbox.Is(m, LiveInbox.Type(m), other));
        Assert.Contains(inbox.Items, m => LiveInbox.Is(m, LiveEventTypes.FlagUpdated, mine));
    }

    [Fact]
    public async Task OverlappingTopics_DeliverEachEventOnce()
    {
        var flagId = await _app.CreateFlagAsync("hub-overlap");
        var marker = await _app.CreateFlagAsync("hub-overlap-marker");
        var (hub, inbox) = await _app.ConnectHubAsync();
        foreach (var topic in new[] { LiveTopics.All, LiveTopics.Flag(flagId), LiveTopics.Anomalies })
            await hub.InvokeAsync("Subscribe", topic);

        await _app.EnableFlagAsync(flagId);
        await _app.RaiseErrorSpikeAsync(flagId);
        var last = await _app.EnableFlagAsync(marker);

        await inbox.WaitFor(LiveEventTypes.FlagChanged, last.GetProperty("id").GetString());
        Assert.Single(inbox.Items, m => LiveInbox.Is(m, LiveEventTypes.FlagChanged, flagId));
        Assert.Single(inbox.Items, m => LiveInbox.Is(m, LiveEventTypes.AnomalyDetected, flagId));
    }

    [Fact]
    public async Task Unsubscribe_StopsDelivery()
    {
        var flagId = await _app.CreateFlagAsync("hub-unsub");
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
        await hub.InvokeAsync("Subscribe", LiveTopics.Anomalies);
        await hub.InvokeAsync("Unsubscribe", LiveTopics.Flag(flagId));

        await _app.EnableFlagAsync(flagId);
        await _app.RaiseErrorSpikeAsync(flagId);

        await inbox.WaitFor(LiveEventTypes.AnomalyDetected, flagId);
        Assert.DoesNotContain(inbox.Items, m => LiveInbox.Is(m, LiveEventTypes.FlagChanged));
    }

    [Fact]
    public async Task ChatSubscriber_ReceivesOnlyItsSessionsTokens()
    {
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Chat("session-a"));
        await hub.InvokeAsync("Subscribe", LiveTopics.All);

        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.ChatToken,
            new { sessionId = "session-b", messageId = "m1", index = 0, token = "other" }, SessionId: "session-b"));
        await _app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.ChatToken,
            new { sessionId = "session-a", messageId = "m2", index = 0, token = "mine" }, SessionId: "session-a"));

        var token = await inbox.WaitFor(LiveEventTypes.ChatToken, "session-a");
        Assert.Equal("mine", token.GetProperty("payload").GetProperty("token").GetString());
        Assert.Single(inbox.Items);
    }

    [Fact]
    public async Task PostChat_SessionSubscriber_ReceivesStreamedTokensThenTheMessage()
    {
        var (hub, inbox) = await _app.ConnectHubAsync();
        await hub.InvokeAsync("Subscribe", LiveTopics.Chat("ui-session-1"));

        var reply = await (await _app.Http.PostAsJsonAsync("/api/chat", new { message = "What are the current risks?", sessionId = "ui-session-1" }))
            .ReadAs<JsonElement>();

        var answer = await inbox.WaitFor(m => LiveInbox.Is(m, LiveEventTypes.ChatMessage, "ui-session-1")
            && m.GetProperty("payload").GetProperty("role").GetString() == "assistant", "assistant chat.message");
        Assert.Equal(reply.GetProperty("reply").GetString(), answer.GetProperty("payload").GetProperty("content").GetString());
        var tokens = inbox.Items.Where(m => LiveInbox.Is(m, LiveEventTypes.ChatToken, "ui-session-1")).Select(m => m.GetProperty("payload")).ToList();
        Assert.NotEmpty(tokens);
        Assert.Equal(Enumerable.Range(0, tokens.Count), tokens.Select(t => t.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Subscribe_UnknownTopic_IsRefusedWithTheValidTopics()
    {
        var (hub, _) = await _app.ConnectHubAsync();

        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("Subscribe", "flags"));

        Assert.Contains("Unknown topic 'flags'", error.Message);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task ConnectionDropped_AutomaticReconnectAndResubscribe_KeepsReceiving()
    {
        var flagId = await _app.CreateFlagAsync("hub-reconnect");
        await using var proxy = TcpProxy.Start(_app.BaseUri.Port);
        var resubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (hub, inbox) = await _app.ConnectHubAsync(proxy.Uri, b => b.WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)]));
        hub.Reconnected += async _ =>
        {
            // a reconnect is a new connection with no topics: the client subscribes again (CONTRACT.md)
            await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
            resubscribed.TrySetResult();
        };
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
        var first = await _app.EnableFlagAsync(flagId, 10);
        await inbox.WaitFor(LiveEventTypes.FlagChanged, first.GetProperty("id").GetString());
        var firstConnectionId = hub.ConnectionId;

        proxy.DropAll();
        await resubscribed.Task.WaitAsync(LiveInbox.Timeout);
        var second = await _app.EnableFlagAsync(flagId, 20);

        var changed = await inbox.WaitFor(LiveEventTypes.FlagChanged, second.GetProperty("id").GetString());
        Assert.NotEqual(firstConnectionId, hub.ConnectionId);
        Assert.Equal(20, changed.GetProperty("payload").GetProperty("newValue").GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task ConnectionDropped_StatefulReconnect_KeepsTopicsAndDeliversWhatWasSentMeanwhile()
    {
        var flagId = await _app.CreateFlagAsync("hub-stateful");
        await using var proxy = TcpProxy.Start(_app.BaseUri.Port);
        var (hub, inbox) = await _app.ConnectHubAsync(proxy.Uri, b => b.WithStatefulReconnect());
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(flagId));
        var connectionId = hub.ConnectionId;

        proxy.DropAll();
        var change = await _app.EnableFlagAsync(flagId);

        // no Subscribe after the drop: the same connection, its groups and its unacknowledged messages carry over
        await inbox.WaitFor(LiveEventTypes.FlagChanged, change.GetProperty("id").GetString());
        Assert.Equal(connectionId, hub.ConnectionId);
    }

    internal static Anomaly TestAnomaly(string flagId) => new()
    {
        Id = $"anom_{Guid.NewGuid():N}",
        FlagId = flagId,
        Type = AnomalyType.ErrorSpike,
        Severity = Severity.High,
        Metric = "errorRate",
        BaselineValue = 0.5,
        ObservedValue = 5,
        ChangePercent = 900,
        DetectedAt = DateTimeOffset.UtcNow,
    };
}
