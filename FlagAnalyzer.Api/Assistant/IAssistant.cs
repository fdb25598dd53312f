using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>The assistant's answer to one message: the session it belongs to, the full reply, and where it came from.</summary>
/// <param name="Source"><c>llm:&lt;model&gt;</c> or <c>statistical</c> (no language model configured or reachable).</param>
public sealed record ChatReply(string SessionId, string Reply, string Source);

/// <summary>
/// Answers chat messages (used by <c>POST /api/chat</c> and the <c>/ws</c> bridge). A null sessionId starts a
/// new session (an unknown one starts a session with that id). Streams tokens as <c>chat.token</c> live events to the
/// session's subscribers while it answers, then publishes <c>chat.message</c>, whose content is authoritative (it
/// replaces the streamed tokens, e.g. when the model failed mid-answer and the data answer took over).
/// Input that <see cref="ChatLimits.Validate"/> rejects throws <see cref="ArgumentException"/>.
/// </summary>
public interface IAssistant
{
    /// <param name="actor">Who asks: recorded on the messages, and refused (<see cref="UnauthorizedAccessException"/>) when its role may not chat.</param>
    Task<ChatReply> AskAsync(string? sessionId, string message, Actor actor, CancellationToken ct);
}
