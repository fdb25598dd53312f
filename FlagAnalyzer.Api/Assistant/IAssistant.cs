namespace FlagAnalyzer.Api.Assistant;

/// <summary>The assistant's answer to one message: the session it belongs to, the full reply, and where it came from.</summary>
/// <param name="Source"><c>llm:&lt;model&gt;</c> or <c>statistical</c> (no language model configured or reachable).</param>
public sealed record ChatReply(string SessionId, string Reply, string Source);

/// <summary>
/// Answers chat messages (used by <c>POST /api/chat</c> and the <c>/ws</c> bridge). A null sessionId starts a
/// new session. Streams tokens as <c>chat.token</c> live events to the session's subscribers while it answers.
/// </summary>
public interface IAssistant
{
    Task<ChatReply> AskAsync(string? sessionId, string message, CancellationToken ct);
}
