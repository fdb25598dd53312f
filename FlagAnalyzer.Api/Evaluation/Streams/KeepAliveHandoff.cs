using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary>
/// Takes a keep-alive HTTP/1.1 connection back from Kestrel when its next request is an event stream, so a stream a
/// browser opens on the connection its bulk request used is served below the HTTP layer too (issue 28's memory bound;
/// <see cref="StreamConnections"/> serves streams on fresh connections).
/// <para>
/// Kestrel reads and writes the connection through this pipe. The request pipeline marks a <em>clean boundary</em> when
/// an HTTP/1.1 request ends with its body read to the end (<see cref="MarkIfClean"/>): Kestrel has then consumed every
/// byte of that request, so the next bytes it asks for begin the next request, whatever they say. Only then, and only
/// for Kestrel's next read, does this pipe look at what arrived: a single complete stream head that the edge, the token
/// check and the hub all accept is kept back, Kestrel is told the client closed between requests and leaves (nothing is
/// written), and the connection is the stream's. Everything else, at any other moment, reaches Kestrel untouched: a
/// request whose body was not read, a pipelined or partial head, an upgrade, HTTP/2, any refusal. That is what keeps
/// the takeover from being a request-smuggling gap: it never decides where a request ends; Kestrel does.
/// </para>
/// <para>
/// What Kestrel leaves behind would otherwise stay referenced for the stream's lifetime: its connection registers a
/// heartbeat callback that the connection keeps until it closes. That callback is relayed here and dropped at the
/// takeover, so Kestrel's per-connection HTTP state (about 8 KiB) is collected.
/// </para>
/// </summary>
public sealed class KeepAliveHandoff : IDuplexPipe
{
    private readonly StreamConnections _owner;
    private readonly ConnectionContext _connection;
    private readonly IDuplexPipe _transport;
    private readonly Reader _input;
    private readonly Writer _output;
    private volatile bool _atBoundary;
    private volatile bool _handedOff;

    internal KeepAliveHandoff(StreamConnections owner, ConnectionContext connection, IDuplexPipe transport, HeartbeatRelay? heartbeat)
    {
        _owner = owner;
        _connection = connection;
        _transport = transport;
        Heartbeat = heartbeat;
        _input = new Reader(this, transport.Input);
        _output = new Writer(this, transport.Output);
    }

    public PipeReader Input => _input;
    public PipeWriter Output => _output;

    /// <summary>Kestrel's heartbeat registrations, relayed until the takeover drops them.</summary>
    internal HeartbeatRelay? Heartbeat { get; }

    /// <summary>The stream taken from Kestrel (its head still unconsumed in the transport), or null.</summary>
    internal StreamConnections.Claimed? Taken { get; private set; }

    /// <summary>Whether the last request ended at a clean boundary and Kestrel has not read since.</summary>
    internal bool AtBoundary => _atBoundary;

    /// <summary>Whether Kestrel wrote after it was told the connection had ended (it should not: the connection is then closed).</summary>
    internal bool WroteAfterHandOff { get; private set; }

    /// <summary>
    /// Called by the request pipeline when a request ends (<see cref="StreamConnections.UseKeepAliveHandoff"/>): marks the
    /// connection at a clean boundary if the request was HTTP/1.1, not an upgrade, and its body was read to the end.
    /// </summary>
    internal void MarkIfClean(HttpContext context)
    {
        if (!HttpProtocol.IsHttp11(context.Request.Protocol)) return;
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }) return;
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: false })
        {
            try
            {
                var body = context.Request.BodyReader;
                if (!body.TryRead(out var read)) return; // not all of it arrived: Kestrel drains the rest, and reads it as body
                var finished = read.IsCompleted && read.Buffer.IsEmpty;
                body.AdvanceTo(read.Buffer.Start);
                if (!finished) return;
            }
            catch (InvalidOperationException) { return; } // the body reader was completed or is in use: no claim about it
        }
        _atBoundary = true;
    }

    /// <summary>Kestrel's next read after a clean boundary: the next request's first bytes, unless they are a stream this path takes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadAtBoundaryAsync(CancellationToken cancellationToken)
    {
        var inner = _transport.Input;
        var result = await inner.ReadAsync(cancellationToken);
        if (result.IsCanceled || result.IsCompleted || !StreamConnections.MayBeStreamHead(result.Buffer)) return result;
        var taken = await _owner.TryTakeAsync(_connection, result.Buffer);
        if (taken is null) return result; // Kestrel reads the same result: its AdvanceTo reaches the transport
        inner.AdvanceTo(result.Buffer.Start); // nothing consumed: the stream path consumes the head once Kestrel has left
        Taken = taken;
        _handedOff = true;
        Heartbeat?.Clear();
        return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
    }

    private sealed class Reader(KeepAliveHandoff owner, PipeReader inner) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (owner._handedOff) return new(new ReadResult(ReadOnlySequence<byte>.Empty, false, true));
            if (!owner._atBoundary) return inner.ReadAsync(cancellationToken);
            owner._atBoundary = false;
            return owner.ReadAtBoundaryAsync(cancellationToken);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (owner._handedOff)
            {
                result = new ReadResult(ReadOnlySequence<byte>.Empty, false, true);
                return true;
            }
            owner._atBoundary = false; // a read this pipe did not look at: no claim about the next one
            return inner.TryRead(out result);
        }

        public override void AdvanceTo(SequencePosition consumed)
        {
            if (!owner._handedOff) inner.AdvanceTo(consumed);
        }

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            if (!owner._handedOff) inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead()
        {
            if (!owner._handedOff) inner.CancelPendingRead();
        }

        public override void Complete(Exception? exception = null)
        {
            if (!owner._handedOff) inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null) =>
            owner._handedOff ? ValueTask.CompletedTask : inner.CompleteAsync(exception);
    }

    private sealed class Writer(KeepAliveHandoff owner, PipeWriter inner) : PipeWriter
    {
        private Memory<byte> Discard(int sizeHint)
        {
            owner.WroteAfterHandOff = true;
            return new byte[Math.Max(sizeHint, 256)];
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => owner._handedOff ? Discard(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => owner._handedOff ? Discard(sizeHint).Span : inner.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            if (owner._handedOff)
            {
                if (bytes > 0) owner.WroteAfterHandOff = true;
                return;
            }
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            owner._handedOff ? new(new FlushResult(false, true)) : inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (!owner._handedOff) return inner.WriteAsync(source, cancellationToken);
            if (!source.IsEmpty) owner.WroteAfterHandOff = true;
            return new(new FlushResult(false, true));
        }

        public override void CancelPendingFlush()
        {
            if (!owner._handedOff) inner.CancelPendingFlush();
        }

        public override void Complete(Exception? exception = null)
        {
            if (!owner._handedOff) inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null) =>
            owner._handedOff ? ValueTask.CompletedTask : inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => owner._handedOff ? 0 : inner.UnflushedBytes;
    }

    /// <summary>
    /// Stands in for the connection's heartbeat feature while Kestrel serves it: Kestrel's registration (which holds its
    /// whole HTTP connection) lives here, not in the connection, and goes at the takeover.
    /// </summary>
    internal sealed class HeartbeatRelay : IConnectionHeartbeatFeature
    {
        private readonly Lock _gate = new();
        private volatile (Action<object> Action, object State)[] _handlers = [];

        public HeartbeatRelay(IConnectionHeartbeatFeature connection) =>
            connection.OnHeartbeat(static state => ((HeartbeatRelay)state).Tick(), this);

        public void OnHeartbeat(Action<object> action, object state)
        {
            lock (_gate) _handlers = [.. _handlers, (action, state)];
        }

        public void Clear()
        {
            lock (_gate) _handlers = [];
        }

        private void Tick()
        {
            foreach (var (action, state) in _handlers) action(state);
        }
    }
}
