namespace FlagAnalyzer.Api.Assistant;

/// <summary>Placeholder until the assistant lands (issue "AI"); answers that it is not available yet.</summary>
public sealed class PendingAssistant : IAssistant
{
    public Task<ChatReply> AskAsync(string? sessionId, string message, CancellationToken ct) =>
        Task.FromResult(new ChatReply(sessionId ?? Guid.NewGuid().ToString("N"), "The assistant is not available yet.", "statistical"));
}
