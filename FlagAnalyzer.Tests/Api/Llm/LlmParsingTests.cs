using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Llm;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Api.Llm;

/// <summary>The pure parts: reading the model's prediction, the connection string, flag names in questions, metric summaries.</summary>
public sealed class LlmParsingTests
{
    private const string Valid = """
        {"riskLevel":"medium","riskScore":30,"predictedImpact":{"errorRateChange":-5,"latencyChange":2,"userImpact":"minimal"},
         "recommendations":["Go ahead"],"confidence":0.4,"reasoning":"Small step."}
        """;

    [Fact]
    public void Assessment_ValidAnswer_IsReadAsIs()
    {
        Assert.True(LlmAssessment.TryParse(Valid, out var a, out _));
        Assert.Equal(30, a!.RiskScore);
        Assert.Equal("medium", a.RiskLevel.ToWire());
        Assert.Equal(new PredictedImpact(-5, 2, UserImpact.Minimal), a.PredictedImpact);
        Assert.Empty(a.Clamped);
    }

    [Fact]
    public void Assessment_InsideAMarkdownFence_IsRead()
    {
        Assert.True(LlmAssessment.TryParse($"```json\n{Valid}\n```", out var a, out _));
        Assert.Equal(30, a!.RiskScore);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("""{"riskScore":30}""")]
    public void Assessment_IncompleteAnswer_IsRejectedWithAReason(string text)
    {
        Assert.False(LlmAssessment.TryParse(text, out var a, out var error));
        Assert.Null(a);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Assessment_NegativeScore_IsClampedToZeroAndLow()
    {
        Assert.True(LlmAssessment.TryParse(Valid.Replace("\"riskScore\":30", "\"riskScore\":-40"), out var a, out _));
        Assert.Equal(0, a!.RiskScore);
        Assert.Equal("low", a.RiskLevel.ToWire());
        Assert.Equal(["riskScore"], a.Clamped);
    }

    [Theory]
    [InlineData(null, false, null)]
    [InlineData("", false, null)]
    [InlineData("Endpoint=http://ollama:11434;Model=llama3.3:70b", true, "llama3.3:70b")]
    [InlineData("Endpoint=http://localhost:11434", true, "llama3.3")]
    [InlineData("Model=llama3.3", false, "llama3.3")]
    [InlineData("Endpoint=ftp://x;Model=m", false, "m")]
    public void Connection_IsParsedFromTheConnectionString(string? cs, bool configured, string? model)
    {
        var llm = LlmConnection.Parse(cs);

        Assert.Equal(configured, llm.IsConfigured);
        if (model is not null) Assert.Equal(model, llm.Model);
        Assert.Equal(!configured && !string.IsNullOrEmpty(cs), llm.Problem is not null);
    }

    [Theory]
    [InlineData("llama3.3:latest", "llama3.3", true)]
    [InlineData("llama3.3:70b", "llama3.3", false)]
    [InlineData("llama3.3:70b", "llama3.3:70b", true)]
    public void HealthCheck_MatchesOllamasTaggedNames(string listed, string configured, bool same)
    {
        Assert.Equal(same, LlmHealthCheck.SameModel(listed, configured));
    }

    [Theory]
    [InlineData("how is checkout-v2 doing?", "checkout-v2")]
    [InlineData("tell me about checkout-v2.", "checkout-v2")]
    [InlineData("how is checkout-v2-beta doing?", "checkout-v2-beta")]
    [InlineData("how is checkout doing?", null)]
    [InlineData("what about my-checkout-v2?", null)]
    public void NamedFlag_MatchesWholeNamesOnly_PreferringTheLongest(string question, string? expected)
    {
        Flag[] flags = [Flag("checkout-v2"), Flag("checkout-v2-beta")];

        Assert.Equal(expected, DataAnswerer.NamedFlag(question, flags)?.Name);
    }

    [Fact]
    public void MetricSummary_WeightsErrorRateByRequestsAndComparesAroundTheChange()
    {
        var t0 = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        MetricSample S(int minute, double err, double p50, long n) =>
            new() { FlagId = "f", Timestamp = t0.AddMinutes(minute), ErrorRate = err, LatencyP50 = p50, LatencyP99 = p50 * 3, RequestCount = n };

        var summary = MetricSummary.Summarise("f", [S(0, 1, 100, 1000), S(1, 1, 100, 3000), S(10, 2, 150, 1000), S(11, 4, 150, 1000)], t0.AddMinutes(5));

        Assert.Equal(4, summary.Overall!.Samples);
        Assert.Equal(1.667, summary.Overall.ErrorRate); // (1*4000 + 2*1000 + 4*1000) / 6000
        Assert.Equal(1, summary.AroundLatestChange!.Before!.ErrorRate);
        Assert.Equal(3, summary.AroundLatestChange.After!.ErrorRate);
        Assert.Equal(200, summary.AroundLatestChange.ErrorRateChangePercent);
        Assert.Equal(50, summary.AroundLatestChange.LatencyP50ChangePercent);
    }

    private static Flag Flag(string name) => new() { Id = "flg_" + name, Name = name };
}
