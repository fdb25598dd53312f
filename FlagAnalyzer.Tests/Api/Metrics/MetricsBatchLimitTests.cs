using System.Net;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;

namespace FlagAnalyzer.Tests.Api.Metrics;

/// <summary>The documented maximum batch (10,000 samples) fits the body limit with realistic samples.</summary>
public sealed class MetricsBatchLimitTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public MetricsBatchLimitTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TenThousandSamples_WithEveryField_AreAccepted(bool indented)
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = $"batch-{indented}".ToLowerInvariant() })).ReadAs<Flag>();
        var t0 = DateTimeOffset.UtcNow.AddHours(-3);
        // the README's sample, with the optional timestamp and cohort too, and a server-generated flag id
        var samples = Enumerable.Range(0, MetricsApi.MaxBatch).Select(i => new
        {
            flagId = flag.Id,
            timestamp = t0.AddSeconds(i),
            cohort = i % 2 == 0 ? "treatment" : "control",
            errorRate = 0.5 + i % 7 * 0.01,
            latencyP50 = 45.25,
            latencyP99 = 120.75,
            requestCount = 5000,
            conversionRate = 3.2,
            userSatisfactionScore = 4.2,
        }).ToArray();
        var json = JsonSerializer.Serialize(samples, new JsonSerializerOptions(ApiFactory.JsonOptions) { WriteIndented = indented });
        Assert.True(Encoding.UTF8.GetByteCount(json) > RequestLimits.MaxBodyBytes, "the batch no longer exceeds the general limit; the test proves nothing");

        var response = await _client.PostAsync("/api/metrics", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(MetricsApi.MaxBatch, (await response.ReadJson()).GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task OneSampleMore_Is400_NotSilentlyTruncated()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "batch-over" })).ReadAs<Flag>();
        var samples = Enumerable.Range(0, MetricsApi.MaxBatch + 1)
            .Select(_ => new { flagId = flag.Id, errorRate = 0.5, latencyP50 = 45, latencyP99 = 120, requestCount = 5000 });

        var response = await _client.PostJson("/api/metrics", samples);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task BodyOverTheMetricsLimit_Is413_AndOtherEndpointsKeepTheirs()
    {
        var huge = new string(' ', (int)MetricsApi.MaxBodyBytes) + "[]";
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await _client.PostAsync("/api/metrics", new StringContent(huge, Encoding.UTF8, "application/json"))).StatusCode);

        var overGeneral = $$"""{"name":"big","description":"{{new string('a', (int)RequestLimits.MaxBodyBytes)}}"}""";
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await _client.PostAsync("/api/flags", new StringContent(overGeneral, Encoding.UTF8, "application/json"))).StatusCode);
    }
}
