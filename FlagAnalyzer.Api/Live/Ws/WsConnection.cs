using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// One <c>/ws</c> socket speaking the seed's protocol (CONTRACT.md). Outgoing messages go through a bounded
/// queue drained by one writer, so publishers never wait on the socket; a client that cannot keep up loses
/// its oldest messages (logged once), not the server's time.
/// </summary>
internal sealed class WsConnection
{
    public const int MaxMessageBytes = 64 * 1024;
    public const int QueueCapacity = 512;
    public const int MaxChatSessions = 16;
    private const int ChunkBytes = 4 * 1024;

    private WebSocket _socket = null!;
    private readonly IAssistant _assistant;
    private readonly ILogger _logger;
    private readonly Actor? _actor;
    private readonly Channel<byte[]> _out;
    private readonly List<string> _sessions = [];
    private volatile bool _anomaliesOnly;
    private int _dropped;

    /// <param name="actor">The key that opened the socket: a chat message needs what <c>POST /api/chat</c> needs.</param>
    public WsConnection(IAssistant assistant, ILogger logger, Actor? actor = null)
    {
        _assistant = assistant;
        _logger = logger;
        _actor = actor;
        _out = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => OnDropped());
    }

    /// <summary>Every event, as the seed sent them, narrowed to anomalies after <c>subscribe_anomalies</c>; chat events only for this socket's sessions.</summary>
    public bool Wants(string type, string? sessionId)
    {
        if (LiveTopics.IsChat(type))
        {
            if (sessionId is null) return false;
            lock (_sessions) return _sessions.Contains(sessionId);
        }
        return !_anomaliesOnly || LiveTopics.IsAnomaly(type);
    }

    public void Enqueue(byte[] message) => _out.Writer.TryWrite(message);

    private void OnDropped()
    {
        if (Interlocked.Increment(ref _dropped) == 1)
            _logger.LogWarning("A /ws client is not reading fast enough; dropping its oldest messages (queue {Capacity})", QueueCapacity);
    }

    /// <summary>Serves the accepted socket until it closes; messages queued before it was accepted go out first.</summary>
    public async Task RunAsync(WebSocket socket, CancellationToken ct)
    {
        _socket = socket;
        var writer = WriteLoopAsync(ct);
        try
        {
            await ReadLoopAsync(ct);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // the client went away without a close handshake
        }
        finally
        {
            _out.Writer.TryComplete();
            await writer;
        }
        // answer the client's close only once the writer is done: a socket sends one message at a time
        if (_socket.State == WebSocketState.CloseReceived)
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var m in _out.Reader.ReadAllAsync(ct))
                await _socket.SendAsync(m, WebSocketMessageType.Text, endOfMessage: true, ct);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var chunk = new byte[ChunkBytes];
        MemoryStream? large = null;
        var oversized = false;
        while (true)
        {
            var r = await _socket.ReceiveAsync(chunk.AsMemory(), ct);
            if (r.MessageType == WebSocketMessageType.Close) return;

            ReadOnlyMemory<byte> message = default;
            if (!oversized)
            {
                if (r.EndOfMessage && large is null) message = chunk.AsMemory(0, r.Count);
                else
                {
                    large ??= new MemoryStream();
                    if (large.Length + r.Count > MaxMessageBytes)
                    {
                        oversized = true;
                        large = null;
                    }
                    else
                    {
                        large.Write(chunk, 0, r.Count);
                        if (r.EndOfMessage) message = large.GetBuffer().AsMemory(0, (int)large.Length);
                    }
                }
            }
            if (!r.EndOfMessage) continue;

            if (oversized) SendError($"Message too large: the limit is {MaxMessageBytes / 1024} KiB.");
            else if (r.MessageType == WebSocketMessageType.Binary) SendError("Send JSON text messages, not binary.");
            else await HandleAsync(message, ct);
            oversized = false;
            large = null;
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            SendError("Malformed JSON.");
            return;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            {
                SendError("A message is a JSON object with a string \"type\": chat or subscribe_anomalies.");
                return;
            }
            switch (t.GetString())
            {
                case WsMessages.SubscribeAnomalies:
                    _anomaliesOnly = true;
                    Send(WsMessages.Subscribed, new { topic = LiveTopics.Anomalies });
                    break;
                case WsMessages.Chat:
                    await ChatAsync(root, ct);
                    break;
                default:
                    SendError($"Unknown message type '{t.GetString()}': use chat or subscribe_anomalies.");
                    break;
            }
        }
    }

    private async Task ChatAsync(JsonElement root, CancellationToken ct)
    {
        if (!EndpointRules.Allows(_actor, HttpMethods.Post, "/api/chat/"))
        {
            SendError($"Chat needs an editor or admin key; this socket's key is '{_actor?.Role ?? "none"}'.");
            return;
        }
        var payload = root.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var message = String(payload, "message");
        var sessionId = String(payload, "sessionId");
        // the same rules as POST /api/chat
        var v = ChatLimits.Validate(message, sessionId);
        if (payload.ValueKind == JsonValueKind.Undefined) v.Add("payload", "is required");
        if (payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("sessionId", out var s)
            && s.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            v.Add("sessionId", "must be a string");
        if (!v.IsValid)
        {
            SendError("Invalid chat message: " + string.Join("; ", v.Errors.Select(e => $"payload.{e.Key} {string.Join(", ", e.Value)}")));
            return;
        }
        // choose the id before asking, so this socket already follows the session's chat.* events while it streams
        sessionId ??= Ids.New("ses");
        lock (_sessions)
        {
            if (!_sessions.Contains(sessionId))
            {
                if (_sessions.Count == MaxChatSessions) _sessions.RemoveAt(0);
                _sessions.Add(sessionId);
            }
        }
        try
        {
            var reply = await _assistant.AskAsync(sessionId, message!, _actor!, ct);
            Send(WsMessages.ChatResponse, reply);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            _logger.LogWarning(ex, "The assistant failed to answer a /ws chat message");
            SendError("The assistant could not answer; try again.");
        }
    }

    /// <summary>The string property, or null when it is absent, null or not a string (the validator then names it).</summary>
    private static string? String(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private void Send(string type, object payload) =>
        Enqueue(JsonSerializer.SerializeToUtf8Bytes(new LiveEnvelope(type, payload), Json.Options));

    private void SendError(string message) => Send(WsMessages.Error, new { message });
}

/// <summary>The <c>/ws</c> message types beyond the live events (CONTRACT.md).</summary>
public static class WsMessages
{
    public const string Chat = "chat";
    public const string SubscribeAnomalies = "subscribe_anomalies";
    public const string ChatResponse = "chat_response";
    public const string Subscribed = "subscribed";
    public const string Error = "error";
}
