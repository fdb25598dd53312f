using System.Net;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api;

/// <summary>The seed README's curl examples, sent verbatim (with the real flag id substituted where the seed says "flag-id-here").</summary>
public sealed class SeedExamplesTests : IDisposable
{
    private readonly ApiFactory _app = new();

    public void Dispose() => _app.Dispose();

    private const string CreateFlagBody = """
        {
            "name": "new-checkout-flow",
            "description": "Redesigned checkout experience",
            "enabled": false,
            "rolloutPercentage": 0,
            "targetEnvironment": "staging",
            "owner": "product-team",
            "tags": ["checkout", "ux"]
          }
        """;

    [Fact]
    public async Task CreateFlag_SeedBody_Returns201WithTheFlag()
    {
        var client = _app.CreateClient();
        var response = await client.PostRaw("/api/flags", CreateFlagBody);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var flag = await response.ReadJson();
        Assert.Equal("new-checkout-flow", flag.GetProperty("name").GetString());
        Assert.Equal("staging", flag.GetProperty("targetEnvironment").GetString());
        Assert.Equal(["checkout", "ux"], flag.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(1, flag.GetProperty("version").GetInt64());
        Assert.Equal($"/api/flags/{flag.GetProperty("id").GetString()}", response.Headers.Location!.OriginalString);
        Assert.Equal("\"1\"", response.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task RecordChange_SeedBody_EnablesFlagAndReturnsChangeWithPrediction()
    {
        var client = _app.CreateClient();
        var id = (await (await client.PostRaw("/api/flags", CreateFlagBody)).ReadJson()).GetProperty("id").GetString()!;

        var response = await client.PostRaw("/api/flags/change", $$"""
            {
                "flagId": "{{id}}",
                "flagName": "new-checkout-flow",
                "changeType": "enabled",
                "previousValue": { "enabled": false, "rolloutPercentage": 0 },
                "newValue": { "enabled": true, "rolloutPercentage": 10 },
                "changedBy": "john@example.com",
                "environment": "staging"
              }
            """);

        var body = await response.ReadJson();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var change = body.GetProperty("change");
        Assert.Equal("enabled", change.GetProperty("changeType").GetString());
        Assert.Equal("john@example.com", change.GetProperty("changedBy").GetString());
        Assert.Equal(10, change.GetProperty("newValue").GetProperty("rolloutPercentage").GetDouble());
        var prediction = body.GetProperty("prediction");
        Assert.Equal(change.GetProperty("predictionId").GetString(), prediction.GetProperty("id").GetString());
        // a new staging flag enabled at 10 %: (enabling 30 + 10 % newly exposed 4 + no history 5) × staging's 0.6 = 23.4, low
        Assert.Equal(("low", 23.4), (prediction.GetProperty("riskLevel").GetString(), Math.Round(prediction.GetProperty("riskScore").GetDouble(), 1)));

        var flag = await (await client.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(10, flag.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(2, flag.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task SendMetrics_SeedBody_IsAccepted()
    {
        var client = _app.CreateClient();
        var id = (await (await client.PostRaw("/api/flags", CreateFlagBody)).ReadJson()).GetProperty("id").GetString()!;

        var response = await client.PostRaw("/api/metrics", $$"""
            {
                "flagId": "{{id}}",
                "errorRate": 0.5,
                "latencyP50": 45,
                "latencyP99": 120,
                "requestCount": 5000,
                "conversionRate": 3.2,
                "userSatisfactionScore": 4.2
              }
            """);

        var body = await response.ReadJson();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        // one sample of a new flag: no baseline to compare it with, so nothing to detect
        Assert.Empty(body.GetProperty("anomalies").EnumerateArray());

        var metrics = await (await client.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        var sample = Assert.Single(metrics.GetProperty("items").EnumerateArray());
        Assert.Equal(45, sample.GetProperty("latencyP50").GetDouble());
        Assert.Equal(5000, sample.GetProperty("requestCount").GetInt64());
    }
}
