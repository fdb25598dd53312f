using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FlagAnalyzer.Api.Access;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
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
/// serves a stream whose head it could not take, and answers every refusal), so this path only ever says yes.
/// </para>
/// <para>
/// A connection that is not a stream at its start is served by Kestrel through a <see cref="KeepAliveHandoff"/>: a stream
/// that arrives later on it (a browser's EventSource reuses the connection its bulk request used) is taken back from
/// Kestrel at a clean request boundary and served here the same way.
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
    private long _takenOver;

    /// <summary>Streams this replica has served at the connection level since it started, on fresh and on taken-over connections.</summary>
    public long Served => Interlocked.Read(ref _served) + Interlocked.Read(ref _takenOver);

    /// <summary>Of <see cref="Served"/>, the streams taken back from Kestrel on a keep-alive connection (<see cref="KeepAliveHandoff"/>).</summary>
    public long TakenOver => Interlocked.Read(ref _takenOver);

    /// <summary>Adds this path in front of Kestrel's HTTP layer on every endpoint (the configured URLs and explicit Listen calls made after it).</summary>
    public static void AddTo(KestrelServerOptions options) =>
        options.ConfigureEndpointDefaults(listen => listen.Use(next =>
        {
            var connections = listen.ApplicationServices.GetRequiredService<StreamConnections>();
            return connection => connections.OnConnectedAsync(connection, next);
        }));

    /// <summary>
    /// Marks each HTTP/1.1 request's end on a connection Kestrel serves through a <see cref="KeepAliveHandoff"/>, so a
    /// stream that follows on the same connection can be taken back from Kestrel. After the stream branch (a stream on
    /// Kestrel's path keeps its connection to its end) and before every other.
    /// </summary>
    public static IApplicationBuilder UseKeepAliveHandoff(IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            if (context.Features.Get<KeepAliveHandoff>() is not { } handoff) return next(context);
            var task = next(context);
            if (!task.IsCompletedSuccessfully) return AfterAsync(task, context, handoff);
            handoff.MarkIfClean(context);
            return Task.CompletedTask;

            static async Task AfterAsync(Task task, HttpContext context, KeepAliveHandoff handoff)
            {
                await task;
                handoff.MarkIfClean(context);
            }
        });

    public async Task OnConnectedAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // the handshake's state (head, context, headers, scope) lives in TryOpenAsync's frame and dies with it: an idle
        // stream keeps this frame (the connection and the opened stream) and the pump's, nothing of the request
        var opened = await TryOpenAsync(connection);
        if (opened is null)
        {
            if (streams.Options.Value is not { Enabled: true, ServeOnConnections: true })
            {
                await next(connection);
                return;
            }
            opened = await ServeThenTakeOverAsync(connection, next);
            if (opened is null) return;
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

    /// <summary>
    /// Kestrel serves the connection through a <see cref="KeepAliveHandoff"/>; the stream it kept back from Kestrel, once
    /// Kestrel has left, or null when Kestrel served the connection to its end.
    /// </summary>
    private async Task<Opened?> ServeThenTakeOverAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var transport = connection.Transport;
        var heartbeat = connection.Features.Get<IConnectionHeartbeatFeature>();
        var relay = heartbeat is null ? null : new KeepAliveHandoff.HeartbeatRelay(heartbeat);
        var handoff = new KeepAliveHandoff(this, connection, transport, relay);
        connection.Transport = handoff;
        connection.Features.Set(handoff);
        if (relay is not null) connection.Features.Set<IConnectionHeartbeatFeature>(relay);
        var timeout = connection.Features.Get<IConnectionTimeoutFeature>();
        try
        {
            await next(connection);
        }
        finally
        {
            // what Kestrel's HTTP layer registered on the connection goes with it
            connection.Transport = transport;
            connection.Features.Set<KeepAliveHandoff>(null);
            connection.Features.Set(heartbeat);
            connection.Features.Set(timeout);
        }
        if (handoff.Taken is not { } taken) return null;
        if (handoff.WroteAfterHandOff)
        {
            // Kestrel answered something after it was told the client had gone: the connection's bytes are no longer known
            taken.Membership.Dispose();
            LogTakeoverAborted(connection.ConnectionId);
            connection.Abort();
            return null;
        }
        var opened = Start(connection, taken);
        if (opened is null) connection.Abort(); // Kestrel has gone and the head changed under us: nobody can answer it
        else Interlocked.Increment(ref _takenOver);
        return opened;
    }

    /// <summary>
    /// Whether <paramref name="buffer"/> may be a stream request's head and nothing else: the cheap test a clean boundary
    /// makes on every next request before it looks closer.
    /// </summary>
    internal static bool MayBeStreamHead(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length <= Prefix.Length || buffer.Length > MaxHead) return false;
        if (buffer.FirstSpan.Length >= Prefix.Length) return buffer.FirstSpan.StartsWith(Prefix);
        Span<byte> first = stackalloc byte[Prefix.Length];
        buffer.Slice(0, Prefix.Length).CopyTo(first);
        return first.SequenceEqual(Prefix);
    }

    /// <summary>
    /// At a keep-alive connection's clean boundary (<see cref="KeepAliveHandoff"/>): the stream whose head is all of
    /// <paramref name="buffer"/>, accepted by the edge, the token check and the hub; null to let Kestrel read it.
    /// </summary>
    internal async Task<Claimed?> TryTakeAsync(ConnectionContext connection, ReadOnlySequence<byte> buffer)
    {
        try
        {
            return ParseHead(buffer) is { } head ? await TryClaimAsync(connection, head) : null;
        }
        catch (OperationCanceledException) { return null; }
        catch (Exception e)
        {
            LogPeekFailed(e, connection.ConnectionId);
            return null;
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
            if (await TryClaimAsync(connection, head) is not { } claimed) return null;
            if (Start(connection, claimed) is { } opened)
            {
                Interlocked.Increment(ref _served);
                return opened;
            }
            return null;
        }
        catch (OperationCanceledException) { return null; } // the client left during the handshake
        catch (Exception e)
        {
            // nothing is consumed or written before Start: Kestrel answers the request its own way
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
            return read.IsCanceled ? null : ParseHead(buffer);
        }
        finally
        {
            input.AdvanceTo(buffer.Start, buffer.Start);
        }
    }

    /// <summary>The stream request head that is all of <paramref name="buffer"/>, or null.</summary>
    private static Head? ParseHead(ReadOnlySequence<byte> buffer)
    {
        if (!MayBeStreamHead(buffer)) return null;
        byte[] bytes = buffer.ToArray();
        var end = bytes.AsSpan().IndexOf(EndOfHead);
        // more than one head (pipelining) or a body: Kestrel's business
        if (end < 0 || end + EndOfHead.Length != bytes.Length) return null;
        return Head.Parse(bytes.AsSpan(0, end));
    }

    /// <summary>
    /// A stream the edge, the token check and the hub have accepted: its head still unconsumed, nothing written yet. Its
    /// membership must be disposed if it is never started.
    /// </summary>
    internal sealed record Claimed(Head Head, IHeaderDictionary Headers, string? Environment, StreamSubscriber Subscriber, IDisposable Membership);

    private async Task<Claimed?> TryClaimAsync(ConnectionContext connection, Head head)
    {
        var (http, response, scope) = HandshakeContext(connection, head);
        await using (scope)
        {
            await Edge()(http);
            if (!response.Passed || response.StatusCode != StatusCodes.Status200OK) return null;
            var (ok, keyId, environment) = await StreamsApi.CheckAsync(StreamsApi.QueryValue(head.Query, StreamsApi.TokenParameter), streams, connection.ConnectionClosed);
            if (!ok) return null;
            await response.StartAsync();
            var subscriber = new StreamSubscriber(environment, keyId);
            if (streams.Hub.Join(subscriber) is not { } membership) return null; // a full hub: Kestrel's path answers 503
            return new Claimed(head, response.Headers, environment, subscriber, membership);
        }
    }

    /// <summary>Consumes the claimed head and writes the response's start; null (nothing consumed, membership released) if the buffered bytes are no longer just the head.</summary>
    private Opened? Start(ConnectionContext connection, Claimed claimed)
    {
        var input = connection.Transport.Input;
        if (!input.TryRead(out var read) || read.Buffer.Length != claimed.Head.Length)
        {
            if (read.Buffer.Length > 0) input.AdvanceTo(read.Buffer.Start, read.Buffer.Start);
            claimed.Membership.Dispose();
            return null;
        }
        input.AdvanceTo(read.Buffer.End);
        var output = connection.Transport.Output;
        WriteHead(output, claimed.Headers);
        StreamsApi.WriteEvent(output, ": open\n\n"u8, chunked: true);
        StreamsApi.PostMissed(streams.Hub, claimed.Subscriber, claimed.Environment, claimed.Head.LastEventId, StreamsApi.QueryValue(claimed.Head.Query, StreamsApi.SinceParameter));
        return new Opened(claimed.Subscriber, claimed.Membership);
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
    internal sealed class Head
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: Kestrel wrote after its keep-alive connection was taken for an event stream; the connection is closed")]
    private partial void LogTakeoverAborted(string connectionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Event stream on connection {ConnectionId} ended by the transport")]
    private partial void LogStreamEnded(Exception e, string connectionId);
}
