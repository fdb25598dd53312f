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
    public static async Task<Results<Ok<ChatReply>, ValidationProblem, ProblemHttpResult>> Ask(ChatRequest? request, IAssistant assistant,
        HttpContext http, CancellationToken ct)
    {
        var v = ChatLimits.Validate(request?.Message, request?.SessionId);
        if (!v.IsValid) return v.ToProblem();
        try
        {
            return TypedResults.Ok(await assistant.AskAsync(request!.SessionId, request.Message!, http.GetActorOrAnonymous(), ct));
        }
        catch (ChatSessionOutOfScopeException e)
        {
            return Problems.NotFound("Chat session", e.SessionId);
        }
    }

    /// <summary>A session started by a key of another environment scope does not exist for the caller (FlagScope).</summary>
    public static async Task<Results<Ok<Conversation>, ProblemHttpResult>> GetConversation(Db db, string sessionId, HttpContext http,
        CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var (_, environment) = await ChatStore.ScopeAsync(conn, sessionId, ct);
        var conversation = http.GetActorOrAnonymous().CanAccessEnvironment(environment) ? await ChatStore.GetAsync(conn, sessionId, ct) : null;
        return conversation is null ? Problems.NotFound("Chat session", sessionId) : TypedResults.Ok(conversation);
    }
}
