using System.Text;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using FlagAnalyzer.Api.Llm;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>
/// The chat assistant: the language model with read-only tools when one is configured, the data answers
/// otherwise (and when the model fails). Streams the answer as <c>chat.token</c>, then publishes
/// <c>chat.message</c>; the exchange is stored in one transaction once answered.
/// </summary>
public sealed class ChatAssistant(
    Db db,
    LlmConnection llm,
    IOptions<LlmOptions> options,
    AssistantTools tools,
    DataAnswerer dataAnswerer,
    ILiveEventPublisher live,
    TimeProvider clock,
    ILogger<ChatAssistant> logger,
    IChatClient? chat = null) : IAssistant
{
    public async Task<ChatReply> AskAsync(string? sessionId, string message, Actor actor, CancellationToken ct)
    {
        // the assistant reads everything its tools reach: only roles that may chat (editor, admin), who may read all of it
        if (!EndpointRules.Allows(actor, HttpMethods.Post, "/api/chat/"))
            throw new UnauthorizedAccessException($"A key with the role '{actor.Role}' may not use the assistant.");
        var v = ChatLimits.Validate(message, sessionId);
        if (!v.IsValid) throw new ArgumentException(string.Join("; ", v.Errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}")));

        sessionId ??= Ids.New("ses", clock);
        // a session belongs to the environment scope of the key that started it (FlagScope): its history holds answers
        // from that scope's data, so a key of another scope neither reads nor continues it
        List<ChatMessageRecord> history;
        string? environment;
        await using (var conn = await db.OpenAsync(ct))
        {
            (var exists, environment) = await ChatStore.ScopeAsync(conn, sessionId, ct);
            if (!exists) environment = actor.Environment;
            else if (!actor.CanAccessEnvironment(environment)) throw new ChatSessionOutOfScopeException(sessionId);
            history = await ChatStore.RecentAsync(conn, sessionId, options.Value.HistoryMessages, ct);
        }

        var question = new ChatMessageRecord(Ids.New("msg", clock), MessageRole.User, message, null, clock.GetUtcNow())
            { ActorKeyId = actor.KeyId, ActorName = actor.Name };
        await PublishMessageAsync(sessionId, environment, question, ct);

        var stream = new TokenStream(live, sessionId, environment, Ids.New("msg", clock));
        string reply, source;
        if (chat is null)
        {
            (reply, source) = (await dataAnswerer.For(actor).AnswerAsync(message, DataAnswerer.NoModelNotice, ct), Predictions.PredictionSources.Statistical);
            await stream.SendLinesAsync(reply, ct);
        }
        else
        {
            (reply, source) = await AskModelAsync(history, message, stream, actor, ct);
        }

        var answer = new ChatMessageRecord(stream.MessageId, MessageRole.Assistant, reply, source, clock.GetUtcNow())
            { ActorKeyId = actor.KeyId, ActorName = actor.Name };
        // the session row's upsert orders two first messages; the check below reads the winner's scope
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            await ChatStore.AppendAsync(s, sessionId, [question, answer], ct, environment);
            // two first messages to one new id from keys of two scopes: the first one's scope holds the session
            if ((await ChatStore.ScopeAsync(s.Connection, sessionId, ct)).Environment != environment)
                throw new ChatSessionOutOfScopeException(sessionId);
            await s.CommitAsync(ct);
        }
        await PublishMessageAsync(sessionId, environment, answer, ct);
        return new ChatReply(sessionId, reply, source);
    }

    private async Task<(string Reply, string Source)> AskModelAsync(List<ChatMessageRecord> history, string message, TokenStream stream,
        Actor actor, CancellationToken ct)
    {
        List<ChatMessage> messages = [new(ChatRole.System, Prompts.AssistantSystem)];
        messages.AddRange(history.Select(m => new ChatMessage(m.Role == MessageRole.User ? ChatRole.User : ChatRole.Assistant, m.Content)));
        messages.Add(new ChatMessage(ChatRole.User, message));
        var chatOptions = new ChatOptions { Tools = [.. tools.For(actor).All], ToolMode = ChatToolMode.Auto, Temperature = 0.2f };

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.ChatTimeout);
        var text = new StringBuilder();
        string reason;
        try
        {
            await foreach (var update in chat!.GetStreamingResponseAsync(messages, chatOptions, timeout.Token))
            {
                if (string.IsNullOrEmpty(update.Text)) continue;
                text.Append(update.Text);
                await stream.SendAsync(update.Text, ct);
            }
            if (text.ToString().Trim().Length > 0) return (text.ToString().Trim(), llm.Source);
            reason = "it returned an empty answer";
            logger.LogWarning("The language model {Model} returned an empty chat answer; answering from data", llm.Model);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            reason = $"no answer within {options.Value.ChatTimeout.TotalSeconds:0.#} s";
            logger.LogWarning("The language model {Model} timed out after {Timeout} on a chat answer; answering from data", llm.Model, options.Value.ChatTimeout);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            reason = "the call failed";
            logger.LogWarning(ex, "The language model {Model} failed on a chat answer; answering from data", llm.Model);
        }

        var fallback = await dataAnswerer.For(actor).AnswerAsync(message, DataAnswerer.ModelFailedNotice(reason), ct);
        // tokens already sent are superseded by the chat.message carrying the full fallback answer
        if (stream.Sent == 0) await stream.SendLinesAsync(fallback, ct);
        return (fallback, Predictions.PredictionSources.Statistical);
    }

    private ValueTask PublishMessageAsync(string sessionId, string? environment, ChatMessageRecord m, CancellationToken ct) =>
        live.PublishAsync(new LiveEvent(LiveEventTypes.ChatMessage,
            new ChatMessagePayload(sessionId, m.MessageId, m.Role, m.Content, m.Source, m.CreatedAt), SessionId: sessionId) { Environment = environment }, ct);

    /// <summary>The <c>chat.token</c> events of one assistant message, numbered in order.</summary>
    private sealed class TokenStream(ILiveEventPublisher live, string sessionId, string? environment, string messageId)
    {
        public string MessageId => messageId;
        public int Sent { get; private set; }

        public ValueTask SendAsync(string token, CancellationToken ct) =>
            live.PublishAsync(new LiveEvent(LiveEventTypes.ChatToken, new ChatTokenPayload(sessionId, messageId, Sent++, token),
                SessionId: sessionId) { Environment = environment }, ct);

        /// <summary>A ready answer (from data) streamed line by line, so every client renders answers one way.</summary>
        public async Task SendLinesAsync(string text, CancellationToken ct)
        {
            var start = 0;
            while (start < text.Length)
            {
                var nl = text.IndexOf('\n', start);
                var end = nl < 0 ? text.Length : nl + 1;
                await SendAsync(text[start..end], ct);
                start = end;
            }
        }
    }
}

/// <summary>The chat session was started by a key of another environment scope: for this caller it does not exist.</summary>
public sealed class ChatSessionOutOfScopeException(string sessionId) : Exception($"No chat session '{sessionId}' for this key.")
{
    public string SessionId { get; } = sessionId;
}
