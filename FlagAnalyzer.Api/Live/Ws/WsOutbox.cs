namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// One <c>/ws</c> socket's outgoing messages, bounded in bytes and in count: when either bound would be passed
/// the oldest messages are dropped (a client that does not read loses its own backlog, nobody else's), and a
/// single message larger than the byte bound is never queued. One writer drains it with <see cref="TakeAsync"/>.
/// </summary>
internal sealed class WsOutbox(long maxBytes, int maxMessages)
{
    private readonly Queue<byte[]> _queue = new();
    private readonly SemaphoreSlim _ready = new(0);
    private long _bytes;
    private bool _completed;

    /// <summary>Bytes queued right now (messages are shared between sockets, so this is an upper bound of what it holds alone).</summary>
    public long QueuedBytes => Volatile.Read(ref _bytes);

    /// <summary>The most bytes ever queued at once.</summary>
    public long PeakBytes => Volatile.Read(ref _peak);
    private long _peak;

    public int Count
    {
        get { lock (_queue) return _queue.Count; }
    }

    /// <summary>Queues <paramref name="message"/>; returns how many messages were dropped to make room (or 1 when it was itself too large).</summary>
    public int Enqueue(byte[] message)
    {
        var dropped = 0;
        lock (_queue)
        {
            if (_completed) return 0;
            if (message.Length > maxBytes) return 1;
            while (_queue.Count > 0 && (_bytes + message.Length > maxBytes || _queue.Count >= maxMessages))
            {
                _bytes -= _queue.Dequeue().Length;
                dropped++;
            }
            _queue.Enqueue(message);
            _bytes += message.Length;
            if (_bytes > _peak) _peak = _bytes;
        }
        _ready.Release();
        return dropped;
    }

    /// <summary>The next message, or null once <see cref="Complete"/> was called and nothing is left.</summary>
    public async ValueTask<byte[]?> TakeAsync(CancellationToken ct)
    {
        while (true)
        {
            await _ready.WaitAsync(ct);
            lock (_queue)
            {
                if (_queue.TryDequeue(out var m))
                {
                    _bytes -= m.Length;
                    return m;
                }
                // the release belonged to a message dropped since, or to Complete
                if (_completed) return null;
            }
        }
    }

    /// <summary>No more messages: the writer stops, and whatever is still queued is let go at once.</summary>
    public void Complete()
    {
        lock (_queue)
        {
            _completed = true;
            _queue.Clear();
            _queue.TrimExcess();
            _bytes = 0;
        }
        _ready.Release();
    }
}
