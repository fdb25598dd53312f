using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>One message of a conversation, as stored and as returned by <c>GET /api/chat/{sessionId}</c>.</summary>
/// <param name="Source"><c>llm:&lt;model&gt;</c> or <c>statistical</c> for assistant messages; null for the user's.</param>
public sealed record ChatMessageRecord(string MessageId, string Role, string Content, string? Source, DateTimeOffset CreatedAt)
{
    /// <summary>The API key that asked (on the question and on its answer); null for messages older than access control.</summary>
    public string? ActorKeyId { get; init; }
    /// <summary>That key's name.</summary>
    public string? ActorName { get; init; }
}

public sealed record Conversation(string SessionId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ChatMessageRecord> Messages);

public static class ChatRoles
{
    public const string User = "user";
    public const string Assistant = "assistant";
}

/// <summary>SQL for <c>chat_sessions</c> and <c>conversations</c>.</summary>
public static class ChatStore
{
    /// <summary>The session's newest <paramref name="take"/> messages, oldest first.</summary>
    public static async Task<List<ChatMessageRecord>> RecentAsync(SqliteConnection conn, string sessionId, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, """
            SELECT * FROM (
                SELECT message_id, role, content, source, created_at, actor_key_id, actor_name, id FROM conversations
                WHERE session_id = $s ORDER BY id DESC LIMIT $take)
            ORDER BY id
            """).With("$s", sessionId).With("$take", take);
        return await cmd.ListAsync(Read, ct);
    }

    public static async Task<Conversation?> GetAsync(SqliteConnection conn, string sessionId, CancellationToken ct)
    {
        DateTimeOffset created, updated;
        await using (var cmd = conn.Command(null, "SELECT created_at, updated_at FROM chat_sessions WHERE session_id = $s").With("$s", sessionId))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await r.ReadAsync(ct)) return null;
            created = Time.FromMs(r.GetInt64(0));
            updated = Time.FromMs(r.GetInt64(1));
        }
        await using var list = conn.Command(null, """
            SELECT message_id, role, content, source, created_at, actor_key_id, actor_name FROM conversations WHERE session_id = $s ORDER BY id
            """).With("$s", sessionId);
        return new Conversation(sessionId, created, updated, await list.ListAsync(Read, ct));
    }

    /// <summary>Creates the session when new and appends the messages, in the caller's transaction.</summary>
    public static async Task AppendAsync(WriteScope s, string sessionId, IReadOnlyList<ChatMessageRecord> messages, CancellationToken ct)
    {
        var now = messages.Max(m => m.CreatedAt);
        await using (var cmd = s.Command("""
            INSERT INTO chat_sessions(session_id, created_at, updated_at) VALUES ($s, $created, $now)
            ON CONFLICT(session_id) DO UPDATE SET updated_at = excluded.updated_at
            """).With("$s", sessionId).With("$created", Time.ToMs(messages.Min(m => m.CreatedAt))).With("$now", Time.ToMs(now)))
            await cmd.ExecuteNonQueryAsync(ct);

        foreach (var m in messages)
        {
            await using var cmd = s.Command("""
                INSERT INTO conversations(session_id, role, content, created_at, message_id, source, actor_key_id, actor_name)
                VALUES ($s, $role, $content, $created, $mid, $source, $actorKey, $actorName)
                """).With("$s", sessionId).With("$role", m.Role).With("$content", m.Content)
                .With("$created", Time.ToMs(m.CreatedAt)).With("$mid", m.MessageId).With("$source", m.Source)
                .With("$actorKey", m.ActorKeyId).With("$actorName", m.ActorName);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    private static ChatMessageRecord Read(SqliteDataReader r) => new(
        r.StringOrNull(0) ?? "", r.GetString(1), r.GetString(2), r.StringOrNull(3), Time.FromMs(r.GetInt64(4)))
    {
        ActorKeyId = r.StringOrNull(5),
        ActorName = r.StringOrNull(6),
    };
}
