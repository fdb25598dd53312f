namespace FlagAnalyzer.Api.Assistant;

/// <summary><c>chat.token</c> payload (Live/CONTRACT.md): one piece of the answer, in order from index 0.</summary>
public sealed record ChatTokenPayload(string SessionId, string MessageId, int Index, string Token);

/// <summary><c>chat.message</c> payload (Live/CONTRACT.md): a finished message, the user's or the assistant's.</summary>
public sealed record ChatMessagePayload(string SessionId, string MessageId, MessageRole Role, string Content, string? Source, DateTimeOffset CreatedAt);
