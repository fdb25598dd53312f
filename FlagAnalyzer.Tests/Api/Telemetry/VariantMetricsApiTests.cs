using FlagAnalyzer.Tests.Api.Anomalies;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>Samples that name their variant: stored and returned with it, validated, and compared variant by variant.</summary>
public sealed class VariantMetricsApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public VariantMetricsApiTests() => _api = new AnalysisClient(_app.CreateClient());

    public void Dispose() => _app.Dispose();

    private static object Sample(string flagId, string cohort, string variant, double errorRate, long requests, int i) => new
    {
        flagId, cohort, variant, errorRate = errorRate + (i % 3 - 1) * 0.05, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = requests,
    };

    [Fact]
    public async Task TwoTreatmentVariants_OnlyTheRegressingOneRaises_AndIsNamed()
    {
        var id = await _api.CreateFlagAsync("variants-two");
        await _api.RollOutAsync(id, 50);
        var samples = Enumerable.Range(0, 8).SelectMany(i => new[]
        {
            Sample(id, "control", "off", 1, 2000, i),
            Sample(id, "treatment", "blue", 1, 1000, i),
            Sample(id, "treatment", "green", 3, 1000, i),
        }).ToArray();

        var body = await (await _api.Http.PostJson("/api/metrics", samples)).ReadJson();

        var anomaly = Assert.Single(body.GetProperty("anomalies").EnumerateArray());
        Assert.Equal("error_spike", anomaly.GetProperty("type").GetString());
        Assert.Equal("green", anomaly.GetProperty("variant").GetString());
        Assert.Contains("variant 'green'", anomaly.GetProperty("message").GetString());

        var report = (await (await _api.Http.PostJson("/api/analyze", new { flagId = id })).ReadJson()).GetProperty("flags")[0];
        Assert.Equal(["blue", "green"], report.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("variant").GetString()));
        var metrics = await (await _api.Http.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        Assert.Equal(8, metrics.GetProperty("items").EnumerateArray().Count(m => m.GetProperty("variant").GetString() == "green"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\u0001b")]
    public async Task BadVariant_Is400NamingTheField(string variant)
    {
        var id = await _api.CreateFlagAsync($"variants-bad-{variant.Length}");
        var response = await _api.Http.PostJson("/api/metrics", new[] { new { flagId = id, variant, errorRate = 1.0, latencyP50 = 1.0, latencyP99 = 2.0, requestCount = 10 } });

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("[0].variant", out _));
    }

    [Fact]
    public async Task OverlongVariant_Is400()
    {
        var id = await _api.CreateFlagAsync("variants-long");
        var response = await _api.Http.PostJson("/api/metrics", new { flagId = id, variant = new string('v', 101), errorRate = 1.0, latencyP50 = 1.0, latencyP99 = 2.0, requestCount = 10 });
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("variant", out _));
    }
}
