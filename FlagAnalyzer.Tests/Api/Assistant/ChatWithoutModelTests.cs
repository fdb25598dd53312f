using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Assistant;

/// <summary>The assistant with no language model configured: answers from data, and says so. Plus the chat API's contract.</summary>
public sealed class ChatWithoutModelTests : IAsyncLifetime
{
    private AssistantApp _app = null!;

    public async Task InitializeAsync() => _app = await AssistantApp.StartAsync(withModel: false);

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task AddAnomalyAsync(string flagId)
    {
        var db = _app.Api.Services.GetRequiredService<Db>();
        await using var conn = await db.OpenAsync();
        await AnomalyStore.InsertAsync(conn, null, new Anomaly
        {
            Id = $"anm_{Guid.NewGuid():N}",
            FlagId = flagId,
            Type = AnomalyType.ErrorSpike,
            Severity = Severity.High,
            Metric = "errorRate",
            BaselineValue = 0.5,
            ObservedValue = 2.1,
            ChangePercent = 320,
            Confidence = 0.99,
            PValue = 0.001,
            Message = "Error rate 0.5% → 2.1%",
            DetectedAt = DateTimeOffset.UtcNow,
        }, CancellationToken.None);
    }

    [Fact]
    public async Task Chat_CurrentRisks_AnswersFromDataAndSaysNoModelIsConfigured()
    {
        var flag = await _app.CreateFlagAsync("new-checkout-flow", enabled: true, rollout: 50);
        await _app.CreateFlagAsync("dark-mode", environment: "development");
        await AddAnomalyAsync(flag.GetProperty("id").GetString()!);

        var reply = await _app.AskAsync("What are the current risks with our feature flags?");

        var text = reply.GetProperty("reply").GetString()!;
        Assert.Equal("statistical", reply.GetProperty("source").GetString());
        Assert.StartsWith(DataAnswerer.NoModelNotice, text);
        Assert.Contains("Active anomalies (1):", text);
        Assert.Contains("new-checkout-flow: error_spike (high, active) errorRate 0.5 → 2.1 (+320%)", text);
        Assert.Contains("2 flags, 1 enabled, 1 enabled in production.", text);
    }

    [Fact]
    public async Task Chat_NamedFlag_DescribesItsStatePredictionAndHistory()
    {
        // on at 0 %, then a rollout move: "rollout_changed" is what the change is (the server refuses a type that is not)
        var flag = await _app.CreateFlagAsync("search-ranking", enabled: true, rollout: 0);
        var id = flag.GetProperty("id").GetString()!;
        var change = await _app.RecordChangeAsync(id, "rollout_changed", true, 30);
        var level = change.GetProperty("prediction").GetProperty("riskLevel").GetString();

        var text = (await _app.AskAsync("How is search-ranking doing?")).GetProperty("reply").GetString()!;

        Assert.Contains("Flag search-ranking is enabled at 30% rollout in production, owned by checkout-team (version 2", text);
        Assert.Contains($"Latest prediction: search-ranking: {level} risk", text);
        Assert.Contains("No open anomalies.", text);
        Assert.Contains("No metrics recorded yet.", text);
        Assert.Contains("Recent changes (2):", text);
        Assert.Contains("rollout_changed by ana@example.com in production", text);
        Assert.Contains("created by", text);
    }

    [Fact]
    public async Task Chat_ActiveAnomaliesQuestion_ListsThemOrSaysNone()
    {
        var none = (await _app.AskAsync("Are there any anomalies?")).GetProperty("reply").GetString()!;
        Assert.Contains("There are no active anomalies.", none);

        var flag = await _app.CreateFlagAsync("payments-v3", enabled: true, rollout: 100);
        await AddAnomalyAsync(flag.GetProperty("id").GetString()!);
        var some = (await _app.AskAsync("Are there any anomalies?")).GetProperty("reply").GetString()!;
        Assert.Contains("Open anomalies (1):", some);
        Assert.Contains("payments-v3: error_spike", some);
    }

    [Fact]
    public async Task Chat_WithoutSession_StartsOneAndKeepsTheConversationInOrder()
    {
        var first = await _app.AskAsync("Which flags are enabled?");
        var sessionId = first.GetProperty("sessionId").GetString()!;
        Assert.False(string.IsNullOrEmpty(sessionId));
        var second = await _app.AskAsync("Any anomalies?", sessionId);
        Assert.Equal(sessionId, second.GetProperty("sessionId").GetString());

        var conversation = await (await _app.Client.GetAsync($"/api/chat/{sessionId}")).ReadAs<JsonElement>();

        Assert.Equal(sessionId, conversation.GetProperty("sessionId").GetString());
        var messages = conversation.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "user", "assistant"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(["Which flags are enabled?", first.GetProperty("reply").GetString(), "Any anomalies?", second.GetProperty("reply").GetString()],
            messages.Select(m => m.GetProperty("content").GetString()));
        Assert.Equal("statistical", messages[1].GetProperty("source").GetString());
        var times = messages.Select(m => m.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
    }

    [Fact]
    public async Task Chat_ClientChosenSessionId_StartsASessionWithThatIdWhichSurvivesARestart()
    {
        await _app.AskAsync("Which flags are enabled?", "my-ui-session.42");

        using var restarted = _app.Api.Restart();
        var conversation = await (await restarted.CreateClient().GetAsync("/api/chat/my-ui-session.42")).ReadAs<JsonElement>();

        Assert.Equal(2, conversation.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task Chat_WithoutModel_StreamsTheAnswerAsTokensThenTheMessage()
    {
        var reply = await _app.AskAsync("What are the current risks?", "stream-test");

        var events = _app.Live.Events.Where(e => e.SessionId == "stream-test").ToList();
        var tokens = events.Where(e => e.Type == LiveEventTypes.ChatToken).Select(e => (ChatTokenPayload)e.Payload).ToList();
        Assert.NotEmpty(tokens);
        Assert.Equal(Enumerable.Range(0, tokens.Count), tokens.Select(t => t.Index));
        Assert.Equal(reply.GetProperty("reply").GetString(), string.Concat(tokens.Select(t => t.Token)));
        var last = (ChatMessagePayload)events[^1].Payload;
        Assert.Equal(LiveEventTypes.ChatMessage, events[^1].Type);
        Assert.Equal("assistant", last.Role.ToWire());
        Assert.Equal(tokens[0].MessageId, last.MessageId);
    }

    [Theory]
    [InlineData("""{"message":""}""")]
    [InlineData("""{"message":"   "}""")]
    [InlineData("""{"sessionId":"abc"}""")]
    [InlineData("""{"message":null}""")]
    public async Task Chat_EmptyMessage_Returns400NamingMessage(string body)
    {
        var response = await _app.Client.PostRaw("/api/chat", body);

        await AssertProblemNamesAsync(response, "message");
    }

    [Fact]
    public async Task Chat_MessageOver10000Characters_Returns400NamingMessage()
    {
        var ok = await _app.Client.PostJson("/api/chat", new { message = new string('a', 10_000) });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var response = await _app.Client.PostJson("/api/chat", new { message = new string('a', 10_001) });

        await AssertProblemNamesAsync(response, "message");
    }

    [Fact]
    public async Task Chat_MalformedSessionId_Returns400NamingSessionId()
    {
        var response = await _app.Client.PostJson("/api/chat", new { message = "hi", sessionId = "no spaces/or slashes" });

        await AssertProblemNamesAsync(response, "sessionId");
    }

    [Fact]
    public async Task GetChat_UnknownSession_Returns404()
    {
        var response = await _app.Client.GetAsync("/api/chat/never-used");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_WithoutModel_LlmCheckIsDegradedAndSaysStatisticalOnly()
    {
        var health = await (await _app.Client.GetAsync("/health")).ReadJson();

        var llm = health.GetProperty("checks").GetProperty("llm");
        Assert.Equal("Degraded", llm.GetProperty("status").GetString());
        Assert.Equal("no language model configured: statistical analyst only", llm.GetProperty("description").GetString());
    }

    [Fact]
    public void WithoutModel_NoChatClientOrRefinerIsRegistered()
    {
        Assert.Null(_app.Api.Services.GetService<IChatClient>());
        Assert.Empty(_app.Api.Services.GetServices<IPredictionRefiner>());
    }

    [Fact]
    public async Task Health_MalformedLlmConnectionString_IsDegradedAndSaysWhy()
    {
        await using var app = await AssistantApp.StartAsync(withModel: false, s => s["ConnectionStrings:llm"] = "Model=llama3.3");

        var llm = (await (await app.Client.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("llm");

        Assert.Equal("Degraded", llm.GetProperty("status").GetString());
        Assert.Equal("no language model configured: statistical analyst only (connection string 'llm' has no valid http(s) Endpoint)",
            llm.GetProperty("description").GetString());
        Assert.Null(app.Api.Services.GetService<IChatClient>());
    }

    private static async Task AssertProblemNamesAsync(HttpResponseMessage response, string field)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJson();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
