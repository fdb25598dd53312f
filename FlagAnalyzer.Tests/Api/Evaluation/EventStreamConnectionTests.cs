using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// OFREP event streams served below Kestrel's HTTP layer (<see cref="StreamConnections"/>, issue 28's memory bound), on
/// a real Kestrel loopback port: each stream is opened on a fresh connection (its own handler), the way the path
/// serves it; everything it refuses must reach Kestrel's ordinary path with the connection's bytes intact.
/// </summary>
public sealed class EventStreamConnectionTests : IAsyncDisposable
{
    private const string Origin = "http://app.example";
    private readonly ApiFactory _app;
    private readonly Uri _base;
    private readonly HttpClient _admin;
    private readonly List<IDisposable> _owned = [];

    public EventStreamConnectionTests()
    {
        _app = new ApiFactory();
        _app.Settings["Evaluation:CorsOrigins:0"] = Origin;
        // no heartbeat within a test: a write to a gone client would end its stream too, and hide a missed disconnect
        _app.Settings["Evaluation:Streams:HeartbeatSeconds"] = "3600";
        _app.UseKestrel(0);
        _app.StartServer();
        _base = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _admin = Fresh().WithAdminKey();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _owned) d.Dispose();
        await _app.DisposeAsync();
    }

    private StreamConnections Connections => _app.Services.GetRequiredService<StreamConnections>();
    private StreamHub Hub => _app.Services.GetRequiredService<StreamHub>();

    /// <summary>A client with a handler of its own, so its first request opens a new connection.</summary>
    private HttpClient Fresh()
    {
        var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = _base, Timeout = Wait.Arrival };
        _owned.Add(client);
        return client;
    }

    private async Task<string> CreateFlagAsync(string name)
    {
        var r = await _admin.PostAsJsonAsync("/api/flags", new { name, enabled = true, rolloutPercentage = 100, targetEnvironment = "production" });
        Assert.True(r.StatusCode == HttpStatusCode.Created, await r.Content.ReadAsStringAsync());
        return (await r.ReadJson()).GetProperty("id").GetString()!;
    }

    private async Task<(string Url, string KeyId)> StreamUrlAsync()
    {
        var key = await _admin.CreateKeyAsync("sdk", "production");
        var sdk = Fresh().WithKey(key.Secret);
        var bulk = await (await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u" } })).ReadJson();
        return (bulk.GetProperty("eventStreams")[0].GetProperty("url").GetString()!, key.Id);
    }

    private async Task<(HttpResponseMessage Response, StreamReader Reader)> OpenAsync(string url, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        configure?.Invoke(request);
        var response = await Fresh().SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        _owned.Add(reader);
        _owned.Add(response);
        return (response, reader);
    }

    /// <summary>The next <c>data:</c> line's JSON, skipping comments; null when the server ended the stream.</summary>
    private static async Task<JsonElement?> NextEventAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
            if (line.StartsWith("data: ", StringComparison.Ordinal)) return JsonDocument.Parse(line[6..]).RootElement.Clone();
        return null;
    }

    private static async Task OpenedAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        Assert.Equal(": open", await reader.ReadLineAsync(timeout.Token));
    }

    [Fact]
    public async Task StreamOnAFreshConnection_IsServedBelowHttp_WithTheEdgesHeaders_AndCarriesAChange()
    {
        var flag = await CreateFlagAsync("conn-change");
        var (url, _) = await StreamUrlAsync();
        var before = Connections.Served;

        var (response, reader) = await OpenAsync(url, r => r.Headers.Add("Origin", Origin));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await OpenedAsync(reader);
        Assert.Equal(before + 1, Connections.Served);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
        Assert.Equal(["DENY"], response.Headers.GetValues("X-Frame-Options"));
        Assert.Equal([Origin], response.Headers.GetValues("Access-Control-Allow-Origin")); // CORS ran: EventSource from the page's origin
        Assert.True(response.Headers.CacheControl!.NoStore);

        (await _admin.PatchAsJsonAsync($"/api/flags/{flag}", new { enabled = false })).EnsureSuccessStatusCode();

        var e = await NextEventAsync(reader);
        Assert.NotNull(e);
        Assert.Equal("refetchEvaluation", e.Value.GetProperty("type").GetString());
        Assert.Equal(StreamHub.ConfigEtag(_app.Services.GetRequiredService<FlagSnapshotStore>().Current, "production"), e.Value.GetProperty("etag").GetString());
    }

    [Fact]
    public async Task ReconnectWithLastEventId_AfterAMissedChange_RefetchesAtOnce_OnTheConnectionPath()
    {
        var flag = await CreateFlagAsync("conn-resume");
        var (url, _) = await StreamUrlAsync();
        var passed = Hub.NextPassAsync();
        (await _admin.PatchAsJsonAsync($"/api/flags/{flag}", new { enabled = false })).EnsureSuccessStatusCode();
        await passed.WaitAsync(Wait.Arrival);
        var before = Connections.Served;

        var (_, reader) = await OpenAsync(url, r => r.Headers.Add("Last-Event-ID", "0"));

        var e = await NextEventAsync(reader);
        Assert.NotNull(e);
        Assert.Equal(before + 1, Connections.Served);
        Assert.Equal("refetchEvaluation", e.Value.GetProperty("type").GetString());
    }

    [Fact]
    public async Task RevokingTheKey_EndsTheStream_AndClientLeaving_ReleasesIt()
    {
        var (url, keyId) = await StreamUrlAsync();
        var (response, reader) = await OpenAsync(url);
        await OpenedAsync(reader);
        var (other, otherReader) = await OpenAsync((await StreamUrlAsync()).Url);
        await OpenedAsync(otherReader);
        Assert.Equal(2, Hub.Count);

        await _admin.RevokeAsync(keyId);
        Assert.Null(await NextEventAsync(reader)); // the server ended it (the last chunk: HttpClient reads a clean end)

        other.Dispose(); // the client leaves: its connection closes, and the hub lets the stream go
        Assert.True(await Wait.Until(() => Task.FromResult(Hub.Count == 0)), $"{Hub.Count} streams still held");
    }

    [Fact]
    public async Task RefusedStreams_AndOtherRequests_OnAFreshConnection_GetKestrelsOrdinaryAnswers()
    {
        var (url, _) = await StreamUrlAsync();
        var pathAndQuery = new Uri(url).PathAndQuery;
        var before = Connections.Served;

        using (var noToken = await Fresh().GetAsync(StreamsApi.Path + "?token=not-a-token", HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        using (var foreign = new HttpRequestMessage(HttpMethod.Get, pathAndQuery))
        {
            foreign.Headers.Host = "evil.example";
            using var refused = await Fresh().SendAsync(foreign, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType); // Kestrel's path answered, with its body
        }
        using (var alive = await Fresh().GetAsync("/alive"))
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal(before, Connections.Served);

    }

    [Fact]
    public async Task StreamOnAKeepAliveConnection_AfterTheBulkRequest_IsTakenFromKestrel_AndCarriesAChange()
    {
        var flag = await CreateFlagAsync("conn-keepalive");
        var key = await _admin.CreateKeyAsync("sdk", "production");
        // one connection for everything this client sends, as a browser's EventSource reuses its bulk request's
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = _base, Timeout = Wait.Arrival };
        var bulkRequest = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent.Create(new { context = new { targetingKey = "u" } }) };
        bulkRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Secret);
        var bulk = await (await client.SendAsync(bulkRequest)).ReadJson();
        var url = bulk.GetProperty("eventStreams")[0].GetProperty("url").GetString()!;
        var (served, taken) = (Connections.Served, Connections.TakenOver);

        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Origin", Origin);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        await OpenedAsync(reader);
        Assert.Equal(taken + 1, Connections.TakenOver);
        Assert.Equal(served + 1, Connections.Served);
        Assert.Equal([Origin], response.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));

        (await _admin.PatchAsJsonAsync($"/api/flags/{flag}", new { enabled = false })).EnsureSuccessStatusCode();
        var e = await NextEventAsync(reader);
        Assert.NotNull(e);
        Assert.Equal("refetchEvaluation", e.Value.GetProperty("type").GetString());
    }

    /// <summary>Reads one HTTP/1.1 response (head, and a Content-Length or chunked body) from <paramref name="reader"/>: its status line and head.</summary>
    private static async Task<(string Status, string Head)> ReadResponseAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        var status = await reader.ReadLineAsync(timeout.Token) ?? "";
        var head = new System.Text.StringBuilder();
        var length = 0;
        var chunked = false;
        while (await reader.ReadLineAsync(timeout.Token) is { Length: > 0 } line)
        {
            head.AppendLine(line);
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
            chunked |= line.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
        }
        async Task SkipAsync(int count)
        {
            var body = new char[count];
            for (var read = 0; read < count;) read += await reader.ReadAsync(body.AsMemory(read), timeout.Token);
        }
        if (!chunked) await SkipAsync(length);
        else
            while (Convert.ToInt32(await reader.ReadLineAsync(timeout.Token), 16) is var size)
            {
                await SkipAsync(size + 2); // the chunk and its CRLF; the last (0) chunk's CRLF ends the body
                if (size == 0) break;
            }
        return (status, head.ToString());
    }

    [Fact]
    public async Task StreamHeadSentAsTheUnreadBodyOfAnEarlierRequest_IsReadAsBody_NotTakenAsAStream()
    {
        var (url, _) = await StreamUrlAsync();
        var (served, taken) = (Connections.Served, Connections.TakenOver);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_base.Host, _base.Port);
        var stream = tcp.GetStream();
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        // the smuggling attempt: a request whose body (unread: no key, so 401 first) is a whole valid stream request
        var smuggled = $"GET {new Uri(url).PathAndQuery} HTTP/1.1\r\nHost: {_base.Authority}\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /api/flags HTTP/1.1\r\nHost: {_base.Authority}\r\nContent-Type: application/json\r\nContent-Length: {smuggled.Length}\r\n\r\n"));
        var (status, _) = await ReadResponseAsync(reader);
        Assert.Equal("HTTP/1.1 401 Unauthorized", status);

        // the body arrives after the answer, when Kestrel is draining it: it must stay body. A broken rule shows here only
        // when the server reads the body alone, not together with the request behind it (up to the network; on loopback
        // they usually arrive together): KeepAliveHandoffTests pins the rule itself
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(smuggled));
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET /alive HTTP/1.1\r\nHost: {_base.Authority}\r\n\r\n"));
        var (next, head) = await ReadResponseAsync(reader);
        Assert.Equal("HTTP/1.1 200 OK", next);
        Assert.DoesNotContain("text/event-stream", head);
        Assert.Equal((served, taken), (Connections.Served, Connections.TakenOver));
        Assert.Equal(0, Hub.Count);
    }

    [Fact]
    public async Task StreamHeadThisPathDoesNotAccept_IsHandedToKestrelWhole_AndStillServed()
    {
        var (url, _) = await StreamUrlAsync();
        var before = Connections.Served;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_base.Host, _base.Port);
        var stream = tcp.GetStream();
        // a Content-Length (even 0) is outside what the connection path parses: Kestrel must see every byte of the head
        var head = $"GET {new Uri(url).PathAndQuery} HTTP/1.1\r\nHost: {_base.Authority}\r\nContent-Length: 0\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));

        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        Assert.Equal("HTTP/1.1 200 OK", await reader.ReadLineAsync(timeout.Token));
        string? line;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && line != ": open") { }
        Assert.Equal(": open", line);
        Assert.Equal(before, Connections.Served);
    }

    [Fact]
    public async Task WithServeOnConnectionsOff_StreamsAreOrdinaryRequests()
    {
        await using var off = new ApiFactory();
        off.Settings["Evaluation:Streams:ServeOnConnections"] = "false";
        off.UseKestrel(0);
        off.StartServer();
        var baseUri = new Uri(off.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var admin = new HttpClient { BaseAddress = baseUri }.WithAdminKey();
        var key = await admin.CreateKeyAsync("sdk", "production");
        using var sdk = new HttpClient { BaseAddress = baseUri }.WithKey(key.Secret);
        var bulk = await (await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { } })).ReadJson();
        using var client = new HttpClient(new SocketsHttpHandler());

        using var stream = await client.GetAsync(bulk.GetProperty("eventStreams")[0].GetProperty("url").GetString(), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await OpenedAsync(reader);
        Assert.Equal(0, off.Services.GetRequiredService<StreamConnections>().Served);
    }
}
