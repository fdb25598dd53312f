using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Assistant;

public sealed record ChatRequest(string? Message, string? SessionId);

public static class ChatApi
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/chat").WithTags("Assistant");
        api.MapPost("/", Ask).WithName("Chat").WithSummary("Ask the assistant; the answer also streams to chat:{sessionId}");
        api.MapGet("/{sessionId}", GetConversation).WithName("GetConversation").WithSummary("A chat session's messages");
        return app;
    }

    /// <summary>Answers one message; a missing or unknown sessionId starts a session (with that id when given).</summary>
    public static async Task<Results<Ok<ChatReply>, ValidationProblem>> Ask(ChatRequest? request, IAssistant assistant, CancellationToken ct)
    {
        var v = ChatLimits.Validate(request?.Message, request?.SessionId);
        if (!v.IsValid) return v.ToProblem();
        return TypedResults.Ok(await assistant.AskAsync(request!.SessionId, request.Message!, ct));
    }

    public static async Task<Results<Ok<Conversation>, ProblemHttpResult>> GetConversation(Db db, string sessionId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var conversation = await ChatStore.GetAsync(conn, sessionId, ct);
        return conversation is null ? Problems.NotFound("Chat session", sessionId) : TypedResults.Ok(conversation);
    }
}
