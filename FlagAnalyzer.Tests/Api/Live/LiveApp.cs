using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>The real API on a real Kestrel loopback port (dynamic), so SignalR and /ws clients use real sockets.</summary>
public sealed class LiveApp : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _clients = [];

    private LiveApp(ApiFactory factory, Uri baseUri)
    {
        Factory = factory;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri }.WithAdminKey();
    }

    public ApiFactory Factory { get; }
    public Uri BaseUri { get; }
    public HttpClient Http { get; }

    public static LiveApp Start(string? redis = null, string? databasePath = null, Action<IServiceCollection>? services = null)
    {
        var factory = new ApiFactory(databasePath) { ConfigureServices = services };
        if (redis is not null) factory.Settings["ConnectionStrings:cache"] = redis;
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LiveApp(factory, new Uri(address));
    }

    public ILiveEventPublisher Publisher => Factory.Services.GetRequiredService<ILiveEventPublisher>();

    /// <summary>A started SignalR client whose <c>event</c> messages land in the returned inbox.</summary>
    public async Task<(HubConnection Connection, LiveInbox Inbox)> ConnectHubAsync(Uri? via = null, Action<IHubConnectionBuilder>? configure = null)
    {
        var inbox = new LiveInbox();
        var builder = new HubConnectionBuilder().WithUrl(new Uri(via ?? BaseUri, LiveHub.Path), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.AccessTokenProvider = () => Task.FromResult<string?>(TestKeys.Admin);
        });
        configure?.Invoke(builder);
        var connection = builder.Build();
        connection.On<JsonElement>("event", e => inbox.Add(e));
        await connection.StartAsync().WaitAsync(LiveInbox.Timeout);
        _clients.Add(connection);
        return (connection, inbox);
    }

    /// <summary>A seed-style client: a plain WebSocket on /ws whose every message lands in the returned inbox.</summary>
    public async Task<SeedSocket> ConnectSeedAsync()
    {
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", $"Bearer {TestKeys.Admin}");
        var uri = new UriBuilder(BaseUri) { Scheme = "ws", Path = "/ws" }.Uri;
        await ws.ConnectAsync(uri, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        var socket = new SeedSocket(ws);
        _clients.Add(socket);
        return socket;
    }

    public async Task<string> CreateFlagAsync(string name)
    {
        var flag = await (await Http.PostAsJsonAsync("/api/flags", new { name, enabled = false, rolloutPercentage = 0, targetEnvironment = "staging" }))
            .ReadAs<JsonElement>();
        return flag.GetProperty("id").GetString()!;
    }

    /// <summary>
    /// The seed's <c>POST /api/flags/change</c>: switches the flag on at <paramref name="rollout"/>; returns the change
    /// record. The change type is what the change is — "enabled" the first time, "rollout_changed" once it is on —
    /// since the server refuses a change type that says otherwise.
    /// </summary>
    public async Task<JsonElement> EnableFlagAsync(string flagId, double rollout = 10)
    {
        var enabled = (await (await Http.GetAsync($"/api/flags/{flagId}")).ReadAs<JsonElement>()).GetProperty("enabled").GetBoolean();
        var body = await (await Http.PostAsJsonAsync("/api/flags/change", new
        {
            flagId,
            changeType = enabled ? "rollout_changed" : "enabled",
            previousValue = new { enabled },
            newValue = new { enabled = true, rolloutPercentage = rollout },
            changedBy = "live-tests@example.com",
            environment = "staging",
        })).ReadAs<JsonElement>();
        return body.GetProperty("change");
    }

    public async Task RecordMetricsAsync(string flagId)
    {
        var response = await Http.PostAsJsonAsync("/api/metrics", new { flagId, errorRate = 0.5, latencyP50 = 45, latencyP99 = 120, requestCount = 5000 });
        await response.ReadAs<JsonElement>();
    }

    /// <summary>
    /// A real anomaly through real detection: at the 10 % split <see cref="EnableFlagAsync"/> promises, treatment
    /// errors 3× as often as control. Returns the anomaly the metrics response reports.
    /// </summary>
    public async Task<JsonElement> RaiseErrorSpikeAsync(string flagId)
    {
        var samples = Enumerable.Range(0, 5).SelectMany(i => new object[]
        {
            new { flagId, cohort = "control", errorRate = 1.0, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = 9000 },
            new { flagId, cohort = "treatment", errorRate = 3.0, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = 1000 },
        });
        var body = await (await Http.PostAsJsonAsync("/api/metrics", samples.ToArray())).ReadAs<JsonElement>();
        return Assert.Single(body.GetProperty("anomalies").EnumerateArray());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients) await c.DisposeAsync();
        Http.Dispose();
        await Factory.DisposeAsync();
    }
}

/// <summary>A raw WebSocket on /ws with a background reader feeding <see cref="Inbox"/>.</summary>
public sealed class SeedSocket : IAsyncDisposable
{
    private readonly Task _reader;

    public SeedSocket(ClientWebSocket ws)
    {
        Socket = ws;
        _reader = Task.Run(ReadAsync);
    }

    public ClientWebSocket Socket { get; }
    public LiveInbox Inbox { get; } = new();

    public Task SendAsync(string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private async Task ReadAsync()
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (Socket.State == WebSocketState.Open)
            {
                var r = await Socket.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) return;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                Inbox.Add(JsonDocument.Parse(message.ToArray()).RootElement);
                message.SetLength(0);
            }
        }
        catch (WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(LiveInbox.Timeout);
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException)
            {
            }
        }
        Socket.Abort();
        await _reader.WaitAsync(LiveInbox.Timeout).ContinueWith(_ => { });
        Socket.Dispose();
    }
}
