using FlagAnalyzer.Tests.Support;
using System.Net.WebSockets;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Api.Live;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>The live endpoints over real sockets: keys the way browsers send them, and revocation of an open connection.</summary>
public sealed class LiveAccessTests : IAsyncLifetime
{
    private LiveApp _app = null!;

    public Task InitializeAsync()
    {
        _app = LiveApp.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private HubConnection Hub(string? key) => new HubConnectionBuilder().WithUrl(new Uri(_app.BaseUri, LiveHub.Path), o =>
    {
        o.Transports = HttpTransportType.WebSockets;
        if (key is not null) o.AccessTokenProvider = () => Task.FromResult<string?>(key);
    }).Build();

    private Uri Ws(string? key) => new UriBuilder(_app.BaseUri) { Scheme = "ws", Path = "/ws", Query = key is null ? "" : $"access_token={Uri.EscapeDataString(key)}" }.Uri;

    [Fact]
    public async Task Hub_WithoutAKey_IsRefused_WithAViewerKeyAsAccessToken_Connects()
    {
        var viewer = await _app.Http.CreateKeyAsync("viewer");
        await using var anonymous = Hub(null);
        await using var ingest = Hub((await _app.Http.CreateKeyAsync("ingest")).Secret);
        await using var ok = Hub(viewer.Secret);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => anonymous.StartAsync().WaitAsync(LiveInbox.Timeout));
        Assert.Contains("401", refused.Message);
        Assert.Contains("403", (await Assert.ThrowsAnyAsync<Exception>(() => ingest.StartAsync().WaitAsync(LiveInbox.Timeout))).Message);
        await ok.StartAsync().WaitAsync(LiveInbox.Timeout);
        await ok.InvokeAsync("Subscribe", LiveTopics.All);
    }

    [Fact]
    public async Task SeedWebSocket_TakesTheKeyAsAccessTokenQueryParameter()
    {
        var viewer = await _app.Http.CreateKeyAsync("viewer");
        using var anonymous = new ClientWebSocket();
        using var withKey = new ClientWebSocket();

        await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(Ws(null), CancellationToken.None).WaitAsync(LiveInbox.Timeout));
        await withKey.ConnectAsync(Ws(viewer.Secret), CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        Assert.Equal(WebSocketState.Open, withKey.State);
    }

    [Fact]
    public async Task SeedWebSocket_ChatNeedsAnEditorKey_LikePostApiChat()
    {
        await using var viewer = new SeedSocket(await Connect(Ws((await _app.Http.CreateKeyAsync("viewer")).Secret)));
        await using var editor = new SeedSocket(await Connect(Ws((await _app.Http.CreateKeyAsync("editor")).Secret)));
        const string ask = """{ "type": "chat", "payload": { "message": "what is risky?" } }""";

        await viewer.SendAsync(ask);
        await editor.SendAsync(ask);

        var refused = await viewer.Inbox.WaitFor(FlagAnalyzer.Api.Live.Ws.WsMessages.Error);
        Assert.Contains("editor", refused.GetProperty("payload").GetProperty("message").GetString());
        await editor.Inbox.WaitFor(FlagAnalyzer.Api.Live.Ws.WsMessages.ChatResponse);
        Assert.DoesNotContain(viewer.Inbox.Items, m => LiveInbox.Type(m) == FlagAnalyzer.Api.Live.Ws.WsMessages.ChatResponse);
    }

    [Fact]
    public async Task SeedWebSocket_FromAPageOnAnotherSite_IsRefused()
    {
        var viewer = await _app.Http.CreateKeyAsync("viewer");
        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Origin", "https://evil.example");

        await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(Ws(viewer.Secret), CancellationToken.None).WaitAsync(LiveInbox.Timeout));
    }

    [Fact]
    public async Task RevokingAKey_ClosesItsOpenLiveConnections()
    {
        var viewer = await _app.Http.CreateKeyAsync("viewer");
        await using var hub = Hub(viewer.Secret);
        var hubClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += _ => { hubClosed.TrySetResult(); return Task.CompletedTask; };
        await hub.StartAsync().WaitAsync(LiveInbox.Timeout);
        await using var seed = new SeedSocket(await Connect(Ws(viewer.Secret)));

        await _app.Http.RevokeAsync(viewer.Id);

        // both close because of the revocation, not a timeout of their own (a hub's is 30 s); how fast is not asserted here
        await hubClosed.Task.WaitAsync(Wait.Arrival);
        // a ClientWebSocket has no event for an aborted connection: its reader notices
        Assert.True(await Wait.Until(() => Task.FromResult(seed.Socket.State != WebSocketState.Open), Wait.Arrival),
            "the seed /ws connection of the revoked key is still open");
    }

    private static async Task<ClientWebSocket> Connect(Uri uri)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(uri, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        return ws;
    }
}
