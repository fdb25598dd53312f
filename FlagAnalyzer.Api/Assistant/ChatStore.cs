using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using System.Data.Common;
using System.Text.Json.Serialization;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>One message of a conversation, as stored and as returned by <c>GET /api/chat/{sessionId}</c>.</summary>
/// <param name="Source"><c>llm:&lt;model&gt;</c> or <c>statistical</c> for assistant messages; null for the user's.</param>
public sealed record ChatMessageRecord(string MessageId, MessageRole Role, string Content, string? Source, DateTimeOffset CreatedAt)
{
    /// <summary>The API key that asked (on the question and on its answer); null for messages older than access control.</summary>
    public string? ActorKeyId { get; init; }
    /// <summary>That key's name.</summary>
    public string? ActorName { get; init; }
}

public sealed record Conversation(string SessionId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ChatMessageRecord> Messages);

/// <summary>Who wrote a chat message (not Microsoft.Extensions.AI's <c>ChatRole</c>, which has more members).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MessageRole>))]
public enum MessageRole
{
    [JsonStringEnumMemberName("user")] User,
    [JsonStringEnumMemberName("assistant")] Assistant,
}

/// <summary>The wire words of <see cref="MessageRole"/>.</summary>
public static class MessageRoles
{
    public static bool TryParse(string? text, out MessageRole role) => WireNames<MessageRole>.TryParse(text, out role);
}

/// <summary>SQL for <c>chat_sessions</c> and <c>conversations</c>, the one place that knows their columns.</summary>
public static class ChatStore
{
    private const string MessageColumns = "message_id, role, content, source, created_at, actor_key_id, actor_name";

    /// <summary>A <c>conversations</c> row as read (time as Unix ms).</summary>
    private sealed class MessageRow
    {
        public string? MessageId { get; set; }
        public string Role { get; set; } = "";
        public string Content { get; set; } = "";
        public string? Source { get; set; }
        public long CreatedAt { get; set; }
        public string? ActorKeyId { get; set; }
        public string? ActorName { get; set; }

        /// <summary>Null when the role is a word this build does not know (<see cref="StoredWords"/>).</summary>
        public ChatMessageRecord? ToRecord() => !StoredWords.TryRead<MessageRole>("conversations", "role", MessageId, Role, out var role) ? null
            : new(MessageId ?? "", role, Content, Source, Time.FromMs(CreatedAt))
        {
            ActorKeyId = ActorKeyId,
            ActorName = ActorName,
        };
    }

    private sealed class SessionRow
    {
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
    }

    /// <summary>The session's newest <paramref name="take"/> messages, oldest first.</summary>
    public static async Task<List<ChatMessageRecord>> RecentAsync(DbConnection conn, string sessionId, int take, CancellationToken ct) =>
        (await conn.ListAsync<MessageRow>(null, $"""
            SELECT {MessageColumns} FROM (
                SELECT {MessageColumns}, id FROM conversations
                WHERE session_id = @sessionId ORDER BY id DESC LIMIT @take) AS recent
            ORDER BY id
            """, new { sessionId, take }, ct)).Known(r => r.ToRecord());

    public static async Task<Conversation?> GetAsync(DbConnection conn, string sessionId, CancellationToken ct)
    {
        var session = await conn.FirstOrDefaultAsync<SessionRow>(null,
            "SELECT created_at, updated_at FROM chat_sessions WHERE session_id = @sessionId", new { sessionId }, ct);
        if (session is null) return null;
        var messages = await conn.ListAsync<MessageRow>(null,
            $"SELECT {MessageColumns} FROM conversations WHERE session_id = @sessionId ORDER BY id", new { sessionId }, ct);
        return new Conversation(sessionId, Time.FromMs(session.CreatedAt), Time.FromMs(session.UpdatedAt), messages.Known(r => r.ToRecord()));
    }

    /// <summary>Whether the session exists, and the environment scope of the key that started it (null: unscoped).</summary>
    public static async Task<(bool Exists, string? Environment)> ScopeAsync(DbConnection conn, string sessionId, CancellationToken ct) =>
        await conn.FirstOrDefaultAsync<ScopeRow>(null, "SELECT environment FROM chat_sessions WHERE session_id = @sessionId", new { sessionId }, ct)
            is { } row ? (true, row.Environment) : (false, null);

    private sealed class ScopeRow
    {
        public string? Environment { get; set; }
    }

    /// <summary>
    /// Creates the session when new, in <paramref name="environment"/> (the scope of the key that starts it), and appends
    /// the messages, in the caller's transaction. A session keeps the environment it was created in.
    /// </summary>
    public static async Task AppendAsync(WriteScope s, string sessionId, IReadOnlyList<ChatMessageRecord> messages, CancellationToken ct,
        string? environment = null)
    {
        await s.ExecAsync("""
            INSERT INTO chat_sessions(session_id, created_at, updated_at, environment) VALUES (@sessionId, @created, @now, @environment)
            ON CONFLICT(session_id) DO UPDATE SET updated_at = excluded.updated_at
            """, new { sessionId, created = Time.ToMs(messages.Min(m => m.CreatedAt)), now = Time.ToMs(messages.Max(m => m.CreatedAt)), environment }, ct);

        await s.ExecAsync($"""
            INSERT INTO conversations(session_id, {MessageColumns})
            VALUES (@SessionId, @MessageId, @Role, @Content, @Source, @CreatedAt, @ActorKeyId, @ActorName)
            """, messages.Select(m => new
            {
                SessionId = sessionId, m.MessageId, Role = m.Role.ToWire(), m.Content, m.Source, CreatedAt = Time.ToMs(m.CreatedAt), m.ActorKeyId, m.ActorName,
            }), ct);
    }
}
