using FlagAnalyzer.Api.Flags;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Tests.Fakes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Llm;
using FlagAnalyzer.Tests.Api.Assistant;

namespace FlagAnalyzer.Tests.Api.Llm;

/// <summary>The model refining statistical predictions after the change is committed, and every way that can go wrong.</summary>
public sealed class LlmPredictionTests
{
    private const string GoodAnswer = """
        {"riskLevel":"high","riskScore":62,"predictedImpact":{"errorRateChange":12.5,"latencyChange":4,"userImpact":"moderate"},
         "recommendations":["Hold the rollout at 50% for an hour","Watch checkout error rate"],"confidence":0.55,
         "reasoning":"Doubling exposure in production with no metric history leaves the error rate unknown."}
        """;

    private static async Task<(AssistantApp App, string FlagId)> StartWithFlagAsync(Action<Dictionary<string, string?>>? settings = null)
    {
        var app = await AssistantApp.StartAsync(withModel: true, settings);
        var flag = await app.CreateFlagAsync("checkout-v2", enabled: true, rollout: 25);
        return (app, flag.GetProperty("id").GetString()!);
    }

    private static async Task<Prediction> GetPredictionAsync(AssistantApp app, string id) =>
        await (await app.Client.GetAsync($"/api/predictions/{id}")).ReadAs<Prediction>();

    [Fact]
    public async Task Change_WithModel_ReturnsStatisticalAtOnceThenModelUpgradesIt()
    {
        var (app, flagId) = await StartWithFlagAsync();
        await using var _ = app;
        var modelMayAnswer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Ollama!.Responder = async (_, ct) =>
        {
            await modelMayAnswer.Task.WaitAsync(ct);
            return FakeReply.Text(GoodAnswer);
        };

        // the change request answers while the model is still held back: it never waits for the model
        var changed = await app.RecordChangeAsync(flagId, "rollout_changed", true, 50);
        var statistical = changed.GetProperty("prediction");
        Assert.Equal("statistical", statistical.GetProperty("source").GetString());
        var id = statistical.GetProperty("id").GetString()!;
        modelMayAnswer.SetResult();

        var updated = (Prediction)(await app.Live.WaitForAsync(e => e.Type == LiveEventTypes.PredictionUpdated)).Payload;
        Assert.Equal(id, updated.Id);
        var stored = await GetPredictionAsync(app, id);
        Assert.Equal("llm:llama3.3", stored.Source);
        Assert.Equal(62, stored.RiskScore);
        Assert.Equal("high", stored.RiskLevel.ToWire());
        Assert.Equal(new PredictedImpact(12.5, 4, UserImpact.Moderate), stored.PredictedImpact);
        Assert.Equal(["Hold the rollout at 50% for an hour", "Watch checkout error rate"], stored.Recommendations);
        Assert.Equal(0.55, stored.Confidence);
        Assert.Equal(statistical.GetProperty("riskScore").GetDouble(), stored.Evidence["statistical"]!["riskScore"]!.GetValue<double>());
        Assert.Equal(updated.RiskScore, stored.RiskScore);

        // what the model was asked: the schema as Ollama's format, the flag, the change and the statistical evidence
        var request = Assert.Single(app.Ollama.Requests);
        Assert.False(request.Stream);
        Assert.Equal(Required(JsonDocument.Parse(Prompts.PredictionSchema).RootElement), Required(request.Format!.Value));
        Assert.Equal(Prompts.PredictionSystem, request.Messages[0].Content);
        var content = request.Messages[1].Content;
        Assert.StartsWith(Prompts.PredictionRequest[..Prompts.PredictionRequest.IndexOf('{')], content);
        var input = JsonNode.Parse(content[content.IndexOf('{')..])!;
        Assert.Equal("checkout-v2", (string?)input["flag"]!["name"]);
        Assert.Equal("rollout_changed", (string?)input["change"]!["changeType"]);
        Assert.Equal(25, (double)input["change"]!["before"]!["rolloutPercentage"]!);
        Assert.Equal(50, (double)input["change"]!["after"]!["rolloutPercentage"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(statistical.GetProperty("evidence").GetRawText()),
            input["statisticalPrediction"]!["evidence"]), "the model sees the statistical evidence as stored");
    }

    [Fact]
    public async Task Refinement_ModelTooSlow_StatisticalPredictionStaysAndTimeoutIsLogged()
    {
        var (app, flagId) = await StartWithFlagAsync(s => s["Llm:PredictionTimeout"] = "00:00:00.500");
        await using var _ = app;
        app.Ollama!.Respond(_ => FakeReply.Hang());

        var id = (await app.RecordChangeAsync(flagId, "rollout_changed", true, 50)).GetProperty("prediction").GetProperty("id").GetString()!;

        var log = await app.Logs.WaitForAsync(l => l.Message.Contains(id) && l.Message.Contains("keeps its statistical verdict"));
        Assert.Contains("no answer within 0.5 s", log.Message);
        await AssertStillStatisticalAsync(app, id);
    }

    [Fact]
    public async Task Refinement_Model500_StatisticalPredictionStaysAndErrorIsLogged()
    {
        var (app, flagId) = await StartWithFlagAsync();
        await using var _ = app;
        app.Ollama!.Respond(_ => FakeReply.Status(500));

        // the flag is already on at 25 %: a real change (a recorded no-op logs and predicts nothing)
        var id = (await app.RecordChangeAsync(flagId, "rollout_changed", true, 40)).GetProperty("prediction").GetProperty("id").GetString()!;

        var log = await app.Logs.WaitForAsync(l => l.Message.Contains(id) && l.Message.Contains("keeps its statistical verdict"));
        Assert.Contains("the model call failed", log.Message);
        Assert.IsType<HttpRequestException>(log.Exception);
        await AssertStillStatisticalAsync(app, id);
    }

    [Theory]
    [InlineData("text", "I think the risk is moderate.", "the answer is not JSON")]
    [InlineData("text", "[1, 2, 3]", "not a JSON object")]
    [InlineData("text", """{"riskScore":"very high","confidence":0.5}""", "riskScore is missing or not a number")]
    [InlineData("text", """{"riskLevel":"low","riskScore":10,"confidence":0.5,"predictedImpact":{"errorRateChange":0,"latencyChange":0,"userImpact":"catastrophic"},"recommendations":[],"reasoning":"x"}""", "userImpact must be one of")]
    [InlineData("body", "this is not ndjson\n", "the model call failed")]
    public async Task Refinement_InvalidAnswer_StatisticalPredictionStaysAndIsLogged(string where, string answer, string reason)
    {
        var (app, flagId) = await StartWithFlagAsync();
        await using var _ = app;
        app.Ollama!.Respond(_ => where == "body" ? FakeReply.Raw(answer) : FakeReply.Text(answer));

        var id = (await app.RecordChangeAsync(flagId, "rollout_changed", true, 75)).GetProperty("prediction").GetProperty("id").GetString()!;

        var log = await app.Logs.WaitForAsync(l => l.Message.Contains(id) && l.Message.Contains("keeps its statistical verdict"));
        Assert.Contains(reason, log.Message);
        await AssertStillStatisticalAsync(app, id);
    }

    [Fact]
    public async Task Refinement_OutOfRangeValues_AreClampedAndNamedInEvidence()
    {
        var (app, flagId) = await StartWithFlagAsync();
        await using var _ = app;
        app.Ollama!.Respond(_ => FakeReply.Text("""
            {"riskLevel":"low","riskScore":250,"predictedImpact":{"errorRateChange":5000,"latencyChange":-300,"userImpact":"Severe"},
             "recommendations":["a","b","c","d","e","f","g"],"confidence":1.7,"reasoning":"Everything will break."}
            """));

        var id = (await app.RecordChangeAsync(flagId, "rollout_changed", true, 100)).GetProperty("prediction").GetProperty("id").GetString()!;

        await app.Live.WaitForAsync(e => e.Type == LiveEventTypes.PredictionUpdated);
        var p = await GetPredictionAsync(app, id);
        Assert.Equal("llm:llama3.3", p.Source);
        Assert.Equal(100, p.RiskScore);
        Assert.Equal("critical", p.RiskLevel.ToWire()); // follows the clamped score, not the model's "low"
        Assert.Equal(1, p.Confidence);
        Assert.Equal(new PredictedImpact(1000, -100, UserImpact.Severe), p.PredictedImpact);
        Assert.Equal(["a", "b", "c", "d", "e"], p.Recommendations);
        var clamped = p.Evidence["llm"]!["clamped"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(["recommendations", "riskScore", "predictedImpact.errorRateChange", "predictedImpact.latencyChange", "confidence"], clamped);
    }

    [Fact]
    public async Task Change_WithoutModel_PredictionStaysStatistical()
    {
        await using var app = await AssistantApp.StartAsync(withModel: false);
        var flag = await app.CreateFlagAsync("checkout-v2", enabled: true, rollout: 25);

        var changed = await app.RecordChangeAsync(flag.GetProperty("id").GetString()!, "rollout_changed", true, 50);

        Assert.Equal("statistical", changed.GetProperty("prediction").GetProperty("source").GetString());
        Assert.DoesNotContain(app.Live.Events, e => e.Type == LiveEventTypes.PredictionUpdated);
    }

    private static List<string?> Required(JsonElement schema) =>
        [.. schema.GetProperty("required").EnumerateArray().Select(r => r.GetString())];

    private static async Task AssertStillStatisticalAsync(AssistantApp app, string id)
    {
        var p = await GetPredictionAsync(app, id);
        Assert.Equal("statistical", p.Source);
        Assert.False(p.Evidence.ContainsKey("llm"));
        Assert.DoesNotContain(app.Live.Events, e => e.Type == LiveEventTypes.PredictionUpdated);
    }
}
