using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Predictions;

public sealed class PredictionsApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public PredictionsApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<string> NewFlag(string name, string env) =>
        (await (await _client.PostJson("/api/flags", new { name, targetEnvironment = env })).ReadJson()).GetProperty("id").GetString()!;

    private async Task<JsonElement> Enable(string id, double rollout) =>
        (await (await _client.PostJson("/api/flags/change", new
        {
            flagId = id, changeType = "enabled", newValue = new { enabled = true, rolloutPercentage = rollout }, changedBy = "test",
        })).ReadJson()).GetProperty("prediction");

    [Fact]
    public async Task Change_InProduction_RaisesRiskAboveStagingAndDevelopment()
    {
        var prod = await Enable(await NewFlag("risk-prod", "production"), 50);
        var staging = await Enable(await NewFlag("risk-staging", "staging"), 50);
        var dev = await Enable(await NewFlag("risk-dev", "development"), 50);

        Assert.True(prod.GetProperty("riskScore").GetDouble() > staging.GetProperty("riskScore").GetDouble());
        Assert.True(staging.GetProperty("riskScore").GetDouble() > dev.GetProperty("riskScore").GetDouble());
    }

    [Fact]
    public async Task Change_LargerRolloutStep_RaisesRisk()
    {
        var small = await Enable(await NewFlag("step-small", "production"), 5);
        var large = await Enable(await NewFlag("step-large", "production"), 100);

        Assert.True(large.GetProperty("riskScore").GetDouble() > small.GetProperty("riskScore").GetDouble());
    }

    [Fact]
    public async Task Prediction_IsComplete_AndDeterministicForTheSameChange()
    {
        var a = await Enable(await NewFlag("twin-a", "staging"), 25);
        var b = await Enable(await NewFlag("twin-b", "staging"), 25);

        foreach (var p in new[] { a, b })
        {
            // a new staging flag enabled at 25 %, no metrics, no earlier change: (enabling 30 + 25 % newly exposed 10 + no
            // history 5 + no recent changes 0) × staging's 0.6 = 27, a medium risk (25 ≤ score < 50), with the lowest
            // confidence and no error-rate change to predict (no history to scale)
            Assert.Equal(("medium", 27.0), (p.GetProperty("riskLevel").GetString(), p.GetProperty("riskScore").GetDouble()));
            Assert.Equal(0.15, p.GetProperty("confidence").GetDouble());
            Assert.Equal(0, p.GetProperty("predictedImpact").GetProperty("errorRateChange").GetDouble());
            Assert.Equal("statistical", p.GetProperty("source").GetString());
            Assert.NotEmpty(p.GetProperty("recommendations").EnumerateArray());
            Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("reasoning").GetString()));
            Assert.Equal(JsonValueKind.Object, p.GetProperty("evidence").ValueKind);
            Assert.True(p.GetProperty("predictedImpact").TryGetProperty("errorRateChange", out _));
        }
        Assert.Equal(a.GetProperty("riskScore").GetDouble(), b.GetProperty("riskScore").GetDouble());
        Assert.Equal(a.GetProperty("riskLevel").GetString(), b.GetProperty("riskLevel").GetString());
    }

    [Fact]
    public async Task Prediction_RestsOnTheChangeItWasMadeFor()
    {
        // a staging flag with no metrics, enabled at 25 %: what the prediction says must follow from that change
        var p = await Enable(await NewFlag("evidence-staging", "staging"), 25);

        var evidence = p.GetProperty("evidence");
        Assert.Equal("enabled", evidence.GetProperty("changeType").GetString());
        Assert.Equal("staging", evidence.GetProperty("environment").GetString());
        Assert.Equal(0.6, evidence.GetProperty("environmentWeight").GetDouble());
        Assert.Equal((0d, 25d, 25d), (evidence.GetProperty("exposureBefore").GetDouble(),
            evidence.GetProperty("exposureAfter").GetDouble(), evidence.GetProperty("exposureStep").GetDouble()));
        Assert.Equal(0, evidence.GetProperty("samplesUsed").GetInt32());
        // no history: the lowest confidence, and the advice to start smaller says so
        Assert.Equal(0.15, p.GetProperty("confidence").GetDouble());
        Assert.Contains(p.GetProperty("recommendations").EnumerateArray(), r => r.GetString()!.StartsWith("Roll out to 10% first", StringComparison.Ordinal));
        // the score is the sum of its quoted parts weighted by the environment (enabling is 30 points, 25 % newly exposed 10)
        var parts = evidence.GetProperty("scoreParts");
        Assert.Equal((30d, 10d), (parts.GetProperty("changeType").GetDouble(), parts.GetProperty("exposure").GetDouble()));
        var expected = (parts.GetProperty("changeType").GetDouble() + parts.GetProperty("exposure").GetDouble()
                        + parts.GetProperty("volatility").GetDouble() + parts.GetProperty("changeFrequency").GetDouble()) * 0.6
                       + parts.GetProperty("anomalies").GetDouble();
        Assert.Equal(expected, p.GetProperty("riskScore").GetDouble(), 0.1);
    }

    [Fact]
    public async Task List_ReturnsNewestFirst_FiltersByFlag_AndGetsById()
    {
        var x = await NewFlag("pred-x", "staging");
        var y = await NewFlag("pred-y", "staging");
        var first = await Enable(x, 10);
        await _client.PatchAsJsonAsync($"/api/flags/{x}", new { rolloutPercentage = 30 });
        await Enable(y, 10);

        var ofX = await (await _client.GetAsync($"/api/predictions?flagId={x}")).ReadJson();
        var one = await (await _client.GetAsync($"/api/predictions/{first.GetProperty("id").GetString()}")).ReadJson();

        var items = ofX.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(2, items.Length);
        Assert.All(items, p => Assert.Equal(x, p.GetProperty("flagId").GetString()));
        Assert.Equal(first.GetProperty("id").GetString(), items[1].GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("changeId").GetString(), one.GetProperty("changeId").GetString());
    }

    [Fact]
    public async Task Get_Unknown_Is404_AndBadRiskLevel_Is400()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/predictions/prd_missing")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/api/predictions?riskLevel=extreme")).StatusCode);
    }
}
