using System.Net.WebSockets;
using System.Text.Json;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// One <c>/ws</c> socket speaking the seed's protocol (CONTRACT.md). Outgoing messages go through a queue
/// bounded in bytes and in count (<see cref="WsOptions"/>), drained by one writer, so publishers never wait on
/// the socket; a client that cannot keep up loses its oldest messages (logged once), not the server's time or
/// memory.
/// </summary>
internal sealed class WsConnection
{
    public const int MaxMessageBytes = 64 * 1024;
    public const int MaxChatSessions = 16;
    private const int ChunkBytes = 4 * 1024;

    private WebSocket _socket = null!;
    private readonly IAssistant _assistant;
    private readonly ILogger _logger;
    private readonly Actor? _actor;
    private readonly WsOutbox _out;
    private readonly long _maxQueueBytes;
    private readonly List<string> _sessions = [];
    private int _dropped;

    /// <param name="actor">The key that opened the socket: a chat message needs what <c>POST /api/chat</c> needs.</param>
    public WsConnection(IAssistant assistant, ILogger logger, WsOptions options, string? address = null, Actor? actor = null)
    {
        _assistant = assistant;
        _logger = logger;
        _actor = actor;
        _maxQueueBytes = options.MaxQueueBytes;
        _out = new WsOutbox(options.MaxQueueBytes, options.MaxQueueMessages);
        Address = address;
    }

    /// <summary>The client's IP address, for the per-address connection cap.</summary>
    public string? Address { get; }

    public long QueuedBytes => _out.QueuedBytes;

    /// <summary>True when this socket had to drop messages or ever held over a quarter of its byte cap.</summary>
    public bool WasSlow => Volatile.Read(ref _dropped) > 0 || _out.PeakBytes > _maxQueueBytes / 4;

    /// <summary>
    /// Every event, as the seed sent them; chat events only for this socket's sessions. <c>subscribe_anomalies</c>
    /// adds nothing to that and takes nothing away: the seed's client sends it on connect and still expects flag and
    /// prediction updates.
    /// </summary>
    public bool Wants(string type, string? sessionId, string? environment = null)
    {
        // a scoped key's socket gets only its environment's flag and chat events (FlagScope); unknown environment: not at all
        if (_actor?.Environment is { } scope && environment != scope) return false;
        if (!LiveTopics.IsChat(type)) return true;
        if (sessionId is null) return false;
        lock (_sessions) return _sessions.Contains(sessionId);
    }

    public void Enqueue(byte[] message)
    {
        if (_out.Enqueue(message) > 0 && Interlocked.Increment(ref _dropped) == 1)
            _logger.LogWarning("A /ws client is not reading fast enough; dropping its oldest messages (queue {Bytes} bytes)", _maxQueueBytes);
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
            _out.Complete();
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
            while (await _out.TakeAsync(ct) is { } m)
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
            try
            {
                switch (t.GetString())
                {
                    case WsMessages.SubscribeAnomalies:
                        // anomaly events already reach every socket: acknowledge, never narrow
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
            catch (InvalidOperationException ex) when (Json.IsInvalidText(ex))
            {
                SendError("A string in the message is not Unicode text (a lone surrogate such as \\ud800).");
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
        catch (ChatSessionOutOfScopeException)
        {
            lock (_sessions) _sessions.Remove(sessionId);
            SendError($"No chat session '{sessionId}' for this key.");
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
