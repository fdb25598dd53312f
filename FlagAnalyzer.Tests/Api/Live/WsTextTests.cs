using System.Net.WebSockets;
using FlagAnalyzer.Api.Live.Ws;
using FlagAnalyzer.Tests.Api.Access;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>A /ws message whose strings are not Unicode text (a lone surrogate) is answered with an error; the socket lives on.</summary>
public sealed class WsTextTests : IAsyncLifetime
{
    private LiveApp _app = null!;

    public Task InitializeAsync()
    {
        _app = LiveApp.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("""{"type":"\ud800"}""")]
    [InlineData("""{"type":"chat","payload":{"message":"hi \ud800"}}""")]
    public async Task LoneSurrogate_IsAnErrorMessage_AndTheSocketStaysUsable(string message)
    {
        var editor = await _app.Http.CreateKeyAsync("editor");
        var ws = new ClientWebSocket();
        var uri = new UriBuilder(_app.BaseUri) { Scheme = "ws", Path = "/ws", Query = $"access_token={Uri.EscapeDataString(editor.Secret)}" }.Uri;
        await ws.ConnectAsync(uri, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        await using var seed = new SeedSocket(ws);

        await seed.SendAsync(message);
        var error = await seed.Inbox.WaitFor(WsMessages.Error);
        await seed.SendAsync("""{"type":"subscribe_anomalies"}""");
        await seed.Inbox.WaitFor(WsMessages.Subscribed);

        Assert.Contains("Unicode", error.GetProperty("payload").GetProperty("message").GetString());
        Assert.Equal(WebSocketState.Open, seed.Socket.State);
    }
}
