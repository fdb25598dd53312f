using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FlagAnalyzer.Api.Access;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary>
/// Serves OFREP event streams below Kestrel's HTTP layer (issue 28: 10,000 idle streams under 100 MiB). A connection
/// whose first bytes are a complete <c>GET /ofrep/v1/events?…</c> request head, and nothing else, is answered here:
/// the same edge as every request (Host check, forwarded headers, security headers, CORS) runs on a short-lived
/// HttpContext, the URL's credential is checked, the SSE head is written, and then the connection holds only its
/// socket, its two pipes, the subscriber and one pending frame. Kestrel's per-request state (Http1Connection, header
/// dictionaries, HttpContext, hosting Activity and log scopes, about 9 KiB) is never made for it.
/// <para>
/// Anything else is handed to Kestrel untouched, with nothing read from it: another request, a head split over
/// several reads, a head with a body or an upgrade, a header this parser does not accept, TLS, HTTP/2, a stream the
/// edge or the token check refuses, a full hub. Kestrel then answers it the ordinary way (<see cref="StreamsApi.Stream"/>
/// serves a stream on a reused keep-alive connection, and answers every refusal), so this path only ever says yes.
/// </para>
/// </summary>
public sealed partial class StreamConnections(StreamsApi.StreamServices streams, IServiceProvider services, IOptions<KestrelServerOptions> kestrel,
    ILogger<StreamConnections> log)
{
    private const int MaxHead = 8 * 1024;
    private const int MaxHeaders = 64;

    private static ReadOnlySpan<byte> Prefix => "GET /ofrep/v1/events"u8;
    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    private RequestDelegate? _edge;
    private Endpoint? _endpoint;
    private long _served;

    /// <summary>Streams this replica has served at the connection level since it started.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Adds this path in front of Kestrel's HTTP layer on every endpoint (the configured URLs and explicit Listen calls made after it).</summary>
    public static void AddTo(KestrelServerOptions options) =>
        options.ConfigureEndpointDefaults(listen => listen.Use(next =>
        {
            var connections = listen.ApplicationServices.GetRequiredService<StreamConnections>();
            return connection => connections.OnConnectedAsync(connection, next);
        }));

    public async Task OnConnectedAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // the handshake's state (head, context, headers, scope) lives in TryOpenAsync's frame and dies with it: an idle
        // stream keeps this frame (the connection and the opened stream) and the pump's, nothing of the request
        var opened = await TryOpenAsync(connection);
        if (opened is null)
        {
            await next(connection);
            return;
        }
        using (opened.Membership)
        using (connection.ConnectionClosed.UnsafeRegister(static o => ((StreamSubscriber)o!).Close(), opened.Subscriber))
        {
            // the client leaving ends the stream above: Kestrel's socket reader sees it and cancels ConnectionClosed
            try
            {
                await StreamsApi.PumpAsync(connection.Transport.Output, opened.Subscriber, chunked: true, connection.ConnectionClosed);
            }
            catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
            {
                LogStreamEnded(e, connection.ConnectionId); // the socket went away mid-write
            }
        }
    }

    /// <summary>A stream this path has opened: its head is consumed and written, it is in the hub.</summary>
    private sealed record Opened(StreamSubscriber Subscriber, IDisposable Membership);

    /// <summary>The stream opened on <paramref name="connection"/>, or null to hand the connection to Kestrel, nothing read from it.</summary>
    private async Task<Opened?> TryOpenAsync(ConnectionContext connection)
    {
        Head? head = null;
        try
        {
            head = await ReadHeadAsync(connection);
        }
        catch (OperationCanceledException) { } // nothing arrived in time: Kestrel's own timeouts take over
        catch (Exception e) { LogPeekFailed(e, connection.ConnectionId); }
        if (head is null) return null;
        try
        {
            if (await TryAcceptAsync(connection, head) is not { } accepted) return null;
            return Open(connection, head, accepted);
        }
        catch (OperationCanceledException) { return null; } // the client left during the handshake
        catch (Exception e)
        {
            // nothing is consumed or written before Open: Kestrel answers the request its own way
            LogPeekFailed(e, connection.ConnectionId);
            return null;
        }
    }

    /// <summary>
    /// A complete stream request head if the connection's first read holds one and nothing else; null otherwise. Nothing
    /// is consumed here either way (consumed and examined stay at the start, so Kestrel reads the same bytes at once).
    /// </summary>
    private async Task<Head?> ReadHeadAsync(ConnectionContext connection)
    {
        if (streams.Options.Value is not { Enabled: true, ServeOnConnections: true }) return null;
        var input = connection.Transport.Input;
        // a connection that sends nothing must not be held here without a limit: Kestrel's timeouts start only after this
        using var wait = new CancellationTokenSource(kestrel.Value.Limits.RequestHeadersTimeout);
        var read = await input.ReadAsync(wait.Token);
        var buffer = read.Buffer;
        try
        {
            if (read.IsCanceled || buffer.Length <= Prefix.Length || buffer.Length > MaxHead) return null;
            byte[] bytes = buffer.ToArray();
            if (!bytes.AsSpan().StartsWith(Prefix)) return null;
            var end = bytes.AsSpan().IndexOf(EndOfHead);
            // more than one head (pipelining) or a body: Kestrel's business
            if (end < 0 || end + EndOfHead.Length != bytes.Length) return null;
            return Head.Parse(bytes.AsSpan(0, end));
        }
        finally
        {
            input.AdvanceTo(buffer.Start, buffer.Start);
        }
    }

    /// <summary>The edge's response headers and the stream's key and environment, when the edge and the token accept the request.</summary>
    private sealed record Accepted(IHeaderDictionary Headers, string? KeyId, string? Environment);

    private async Task<Accepted?> TryAcceptAsync(ConnectionContext connection, Head head)
    {
        var (http, response, scope) = HandshakeContext(connection, head);
        await using (scope)
        {
            await Edge()(http);
            if (!response.Passed || response.StatusCode != StatusCodes.Status200OK) return null;
            var (ok, keyId, environment) = await StreamsApi.CheckAsync(StreamsApi.QueryValue(head.Query, StreamsApi.TokenParameter), streams, connection.ConnectionClosed);
            if (!ok) return null;
            await response.StartAsync();
            return new Accepted(response.Headers, keyId, environment);
        }
    }

    /// <summary>Joins the hub, consumes the head and writes the response's start; null (nothing consumed) when the hub is full.</summary>
    private Opened? Open(ConnectionContext connection, Head head, Accepted accepted)
    {
        var subscriber = new StreamSubscriber(accepted.Environment, accepted.KeyId);
        var membership = streams.Hub.Join(subscriber);
        if (membership is null) return null;
        // from here the connection is the stream's: consume the head (still buffered: nothing else was read)
        var input = connection.Transport.Input;
        if (!input.TryRead(out var read) || read.Buffer.Length != head.Length)
        {
            if (read.Buffer.Length > 0) input.AdvanceTo(read.Buffer.Start, read.Buffer.Start);
            membership.Dispose();
            return null;
        }
        input.AdvanceTo(read.Buffer.End);
        Interlocked.Increment(ref _served);
        var output = connection.Transport.Output;
        WriteHead(output, accepted.Headers);
        StreamsApi.WriteEvent(output, ": open\n\n"u8, chunked: true);
        StreamsApi.PostMissed(streams.Hub, subscriber, accepted.Environment, head.LastEventId, StreamsApi.QueryValue(head.Query, StreamsApi.SinceParameter));
        return new Opened(subscriber, membership);
    }

    /// <summary>
    /// A request context for the handshake only (dropped once the head is written): what the edge middleware reads, a
    /// response that records the headers it sets, and a service scope for the middleware that ask for one (CORS).
    /// </summary>
    private (DefaultHttpContext Http, HandshakeResponse Response, AsyncServiceScope Scope) HandshakeContext(ConnectionContext connection, Head head)
    {
        var features = new FeatureCollection();
        var tls = connection.Features.Get<ITlsHandshakeFeature>() is not null;
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1", Method = HttpMethods.Get, Scheme = tls ? "https" : "http", PathBase = "", Path = StreamsApi.Path,
            QueryString = head.Query, RawTarget = head.Target, Headers = head.Headers,
        });
        var response = new HandshakeResponse();
        features.Set<IHttpResponseFeature>(response);
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = connection.ConnectionClosed });
        var remote = connection.RemoteEndPoint as System.Net.IPEndPoint;
        var local = connection.LocalEndPoint as System.Net.IPEndPoint;
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = connection.ConnectionId, RemoteIpAddress = remote?.Address, RemotePort = remote?.Port ?? 0,
            LocalIpAddress = local?.Address, LocalPort = local?.Port ?? 0,
        });
        var http = new DefaultHttpContext(features);
        var scope = services.CreateAsyncScope();
        http.RequestServices = scope.ServiceProvider;
        http.SetEndpoint(_endpoint ??= services.GetRequiredService<EndpointDataSource>().Endpoints
            .First(e => e.Metadata.GetMetadata<StreamsApi.StreamEndpoint>() is not null));
        return (http, response, scope);
    }

    /// <summary>The edge every request meets (<see cref="AccessExtensions.UseEdge"/>), ending in a step that records it was reached.</summary>
    private RequestDelegate Edge() => _edge ??= BuildEdge();

    private RequestDelegate BuildEdge()
    {
        var app = new Microsoft.AspNetCore.Builder.ApplicationBuilder(services);
        AccessExtensions.UseEdge(app);
        app.Run(static http =>
        {
            ((HandshakeResponse)http.Features.Get<IHttpResponseFeature>()!).Passed = true;
            return Task.CompletedTask;
        });
        return app.Build();
    }

    private void WriteHead(PipeWriter output, IHeaderDictionary edgeHeaders)
    {
        var head = new StringBuilder(512);
        head.Append("HTTP/1.1 200 OK\r\n");
        head.Append("Date: ").Append(streams.Clock.GetUtcNow().ToString("r", System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        if (kestrel.Value.AddServerHeader) head.Append("Server: Kestrel\r\n");
        head.Append("Content-Type: text/event-stream\r\nCache-Control: no-cache, no-store\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n");
        foreach (var (name, values) in edgeHeaders)
        {
            // the edge's headers (security headers, CORS); the stream's own framing and type are written above
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase))
                continue;
            foreach (var value in values)
                if (value is not null && !value.AsSpan().ContainsAny('\r', '\n')) head.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        head.Append("\r\n");
        output.Write(Encoding.Latin1.GetBytes(head.ToString()));
    }

    /// <summary>The response side of the handshake context: headers recorded, OnStarting callbacks run before the head is written.</summary>
    private sealed class HandshakeResponse : IHttpResponseFeature
    {
        private List<(Func<object, Task> Callback, object State)>? _starting;

        public bool Passed { get; set; }
        public int StatusCode { get; set; } = StatusCodes.Status200OK;
        public string? ReasonPhrase { get; set; }
        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();
        public Stream Body { get; set; } = Stream.Null;
        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state) => (_starting ??= []).Add((callback, state));
        public void OnCompleted(Func<object, Task> callback, object state) { }

        public async Task StartAsync()
        {
            if (_starting is { } callbacks)
                for (var i = callbacks.Count - 1; i >= 0; i--) await callbacks[i].Callback(callbacks[i].State);
            HasStarted = true;
        }
    }

    /// <summary>A stream request's head, as far as this path needs it.</summary>
    private sealed class Head
    {
        public required string Target { get; init; }
        public required string Query { get; init; }
        public required HeaderDictionary Headers { get; init; }
        public required int Length { get; init; }
        public string? LastEventId => Headers.TryGetValue("Last-Event-ID", out var v) ? v.ToString() : null;

        /// <summary>
        /// A strict subset of what Kestrel accepts: <c>GET {path}[?query] HTTP/1.1</c>, CRLF lines of visible ASCII, one
        /// Host, no body, no upgrade. Null for anything else, which Kestrel then parses (and answers) itself.
        /// </summary>
        public static Head? Parse(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
                if (b is > 0x7E || (b < 0x20 && b is not (byte)'\r' and not (byte)'\n' and not (byte)'\t')) return null;
            var text = Encoding.ASCII.GetString(bytes);
            var lines = text.Split("\r\n");
            var request = lines[0].Split(' ');
            if (request.Length != 3 || request[0] != "GET" || request[2] != "HTTP/1.1") return null;
            var target = request[1];
            var question = target.IndexOf('?');
            var path = question < 0 ? target : target[..question];
            if (path != StreamsApi.Path || target.Contains('#')) return null;
            if (lines.Length - 1 > MaxHeaders) return null;
            var headers = new HeaderDictionary();
            for (var i = 1; i < lines.Length; i++)
            {
                var line = lines[i];
                if (line.Contains('\n') || line.Contains('\r')) return null;
                var colon = line.IndexOf(':');
                if (colon < 1 || !IsToken(line.AsSpan(0, colon))) return null;
                var name = line[..colon];
                var value = line[(colon + 1)..].Trim(' ', '\t');
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) || name.Equals("Expect", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("HTTP2-Settings", StringComparison.OrdinalIgnoreCase))
                    return null;
                headers.Append(name, value);
            }
            if (!headers.TryGetValue("Host", out var host) || host.Count != 1 || host[0] is not { Length: > 0 }) return null;
            return new Head { Target = target, Query = question < 0 ? "" : target[question..], Headers = headers, Length = bytes.Length + EndOfHead.Length };
        }

        private static bool IsToken(ReadOnlySpan<char> name)
        {
            foreach (var c in name)
                if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c))) return false;
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the first request of connection {ConnectionId}; Kestrel takes it")]
    private partial void LogPeekFailed(Exception e, string connectionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Event stream on connection {ConnectionId} ended by the transport")]
    private partial void LogStreamEnded(Exception e, string connectionId);
}
