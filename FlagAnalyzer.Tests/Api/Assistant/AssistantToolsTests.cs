using System.Net.Http.Json;
using System.Diagnostics;
using System.Text.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Llm;

namespace FlagAnalyzer.Tests.Api.Assistant;

/// <summary>Every tool, called by the (fake) model through the real pipeline, reads live state correctly.</summary>
public sealed class AssistantToolsTests
{
    [Fact]
    public async Task Chat_ModelCallsEveryTool_EachReturnsLiveStateNotAnError()
    {
        await using var app = await AssistantApp.StartAsync(withModel: true);
        app.Ollama!.Respond(r => r.IsPrediction ? FakeReply.Status(500) : FakeReply.Text("unused"));
        var flag = await app.CreateFlagAsync("checkout-v2", enabled: false);
        var id = flag.GetProperty("id").GetString()!;
        await app.Client.PostJson("/api/metrics", new[]
        {
            new { flagId = id, errorRate = 1.0, latencyP50 = 100.0, latencyP99 = 300.0, requestCount = 3000L },
            new { flagId = id, errorRate = 3.0, latencyP50 = 120.0, latencyP99 = 320.0, requestCount = 1000L },
        });
        var predictionId = (await app.RecordChangeAsync(id, "enabled", true, 20)).GetProperty("prediction").GetProperty("id").GetString()!;
        await InsertAnomalyAsync(app, id);
        // the change's refinement fails and keeps out of the way of the chat below
        await app.Logs.WaitForAsync(l => l.Message.Contains(predictionId) && l.Message.Contains("keeps its statistical verdict"));

        app.Ollama.Respond(r => r.IsPrediction ? FakeReply.Status(500)
            : r.ToolResults.Count > 0 ? FakeReply.Text("done")
            : FakeReply.ToolCalls(
                ("list_flags", new { environment = "production" }),
                ("get_flag", new { flag = "checkout-v2" }),
                ("get_metric_summary", new { flag = "checkout-v2" }),
                ("list_active_anomalies", new { }),
                ("list_recent_predictions", new { flag = "checkout-v2", minimumRiskLevel = "low" }),
                ("list_flag_changes", new { flag = id, limit = 10 })));

        var reply = await app.AskAsync("Tell me everything about checkout-v2");

        Assert.Equal("done", reply.GetProperty("reply").GetString());
        var results = app.Ollama.Requests[^1].ToolResults.Select(Result).ToList();
        Assert.Equal(6, results.Count);
        Assert.All(results, r => Assert.False(r.ValueKind == JsonValueKind.String && r.GetString()!.StartsWith("Error"), r.ToString()));

        Assert.Equal("checkout-v2", results[0].GetProperty("flags")[0].GetProperty("name").GetString());
        Assert.Equal(20, results[1].GetProperty("flag").GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(predictionId, results[1].GetProperty("latestPrediction").GetProperty("id").GetString());
        var overall = results[2].GetProperty("summary").GetProperty("overall");
        Assert.Equal(4000, overall.GetProperty("requests").GetInt64());
        Assert.Equal(1.5, overall.GetProperty("errorRate").GetDouble()); // (1×3000 + 3×1000) / 4000
        Assert.Equal("error_spike", results[3].GetProperty("anomalies")[0].GetProperty("type").GetString());
        Assert.Equal(predictionId, results[4].GetProperty("predictions")[0].GetProperty("id").GetString());
        Assert.Equal(["enabled", "created"], results[5].GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("changeType").GetString()));
    }

    [Fact]
    public async Task Chat_ToolForUnknownFlag_TellsTheModelPlainly()
    {
        await using var app = await AssistantApp.StartAsync(withModel: true);
        app.Ollama!.Respond(r => r.ToolResults.Count > 0 ? FakeReply.Text("no such flag") : FakeReply.ToolCall("get_flag", new { flag = "ghost" }));

        await app.AskAsync("How is ghost?");

        Assert.Contains("No flag has the id or name 'ghost'.", app.Ollama.Requests[^1].ToolResults[0]);
    }

    [Fact]
    public async Task Chat_WithModel_EmitsATraceOfTheModelCall()
    {
        // Listeners are process-wide and other chat tests run in parallel: only spans of this request's trace
        // count. The request carries its own W3C trace id; the hosting layer continues it, the chat spans nest in it.
        var traceId = ActivityTraceId.CreateRandom();
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is LlmExtensions.TelemetrySource or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if (a.TraceId == traceId) lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await AssistantApp.StartAsync(withModel: true);
        app.Ollama!.Respond(r => r.ToolResults.Count > 0 ? FakeReply.Text("traced") : FakeReply.ToolCall("list_flags", new { }));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { message = "trace me", sessionId = "trace-session" }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();

        lock (spans)
        {
            Assert.Contains(spans, a => a.DisplayName.StartsWith("chat", StringComparison.Ordinal)
                                        && (string?)a.GetTagItem("gen_ai.request.model") == "llama3.3");
            Assert.Contains(spans, a => a.DisplayName == "execute_tool list_flags");
        }
    }

    /// <summary>A tool result as OllamaSharp sends it back (the JSON of the function's return value, possibly wrapped).</summary>
    private static JsonElement Result(string content)
    {
        var e = JsonDocument.Parse(content).RootElement.Clone();
        if (e.ValueKind == JsonValueKind.Object && (e.TryGetProperty("Result", out var inner) || e.TryGetProperty("result", out inner))) e = inner;
        return e.ValueKind == JsonValueKind.String && e.GetString() is { } s && s.TrimStart().StartsWith('{')
            ? JsonDocument.Parse(s).RootElement.Clone()
            : e;
    }

    private static async Task InsertAnomalyAsync(AssistantApp app, string flagId)
    {
        await using var conn = await app.Api.Services.GetRequiredService<Db>().OpenAsync();
        await AnomalyStore.InsertAsync(conn, null, new Anomaly
        {
            Id = $"anm_{Guid.NewGuid():N}", FlagId = flagId, Type = AnomalyType.ErrorSpike, Severity = Severity.High,
            Metric = "errorRate", BaselineValue = 1, ObservedValue = 3, ChangePercent = 200, Confidence = 0.99, PValue = 0.001,
            Message = "Error rate 1% → 3%", DetectedAt = DateTimeOffset.UtcNow,
        }, CancellationToken.None);
    }
}
