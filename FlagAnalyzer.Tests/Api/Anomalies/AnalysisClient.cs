using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Anomalies;

/// <summary>Test-side helpers speaking the public API only: make a flag, give it a baseline, change it, send metrics.</summary>
internal sealed class AnalysisClient(HttpClient http)
{
    public HttpClient Http { get; } = http;

    public async Task<string> CreateFlagAsync(string name, bool autoRollback = false, string environment = "production")
    {
        var flag = await (await Http.PostJson("/api/flags", new { name, targetEnvironment = environment, autoRollback })).ReadJson();
        return flag.GetProperty("id").GetString()!;
    }

    /// <summary>30 samples over the half hour before now, about 1 % errors at 1,000 requests each, with a little noise.</summary>
    public async Task SendBaselineAsync(string flagId, int count = 30)
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-60);
        var samples = Enumerable.Range(0, count).Select(i => Sample(flagId, errorRate: 1 + (i % 5 - 2) * 0.1, p50: 100 + i % 7, timestamp: start.AddMinutes(i)));
        await (await Http.PostJson("/api/metrics", samples.ToArray())).ReadJson();
    }

    public async Task RollOutAsync(string flagId, double percent) =>
        await (await Http.PatchAsync($"/api/flags/{flagId}", JsonContent(new { enabled = true, rolloutPercentage = percent }))).ReadJson();

    /// <summary>Sends samples stamped now (after any change made so far) in one request; returns the response body.</summary>
    public async Task<JsonElement> SendAsync(string flagId, int count, double errorRate, double p50 = 100, long requests = 1000)
    {
        var samples = Enumerable.Range(0, count).Select(i => Sample(flagId, errorRate + (i % 3 - 1) * 0.05, p50 + i % 3, requests: requests));
        return await (await Http.PostJson("/api/metrics", samples.ToArray())).ReadJson();
    }

    /// <summary>Sends <paramref name="count"/> control and treatment samples, stamped now, in one request.</summary>
    public async Task<JsonElement> SendCohortsAsync(string flagId, int count, (double ErrorRate, long Requests) control, (double ErrorRate, long Requests) treatment)
    {
        var samples = Enumerable.Range(0, count).SelectMany(i => new object[]
        {
            new { flagId, cohort = "control", errorRate = control.ErrorRate, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = control.Requests },
            new { flagId, cohort = "treatment", errorRate = treatment.ErrorRate, latencyP50 = 100.0 + i % 3, latencyP99 = 400.0, requestCount = treatment.Requests },
        });
        return await (await Http.PostJson("/api/metrics", samples.ToArray())).ReadJson();
    }

    public async Task<List<JsonElement>> AnomaliesAsync(string flagId, string status = "all") =>
        (await (await Http.GetAsync($"/api/anomalies?flagId={flagId}&status={status}")).ReadJson()).GetProperty("items").EnumerateArray().ToList();

    public static object Sample(string flagId, double errorRate, double p50, DateTimeOffset? timestamp = null, long requests = 1000) => new
    {
        flagId,
        timestamp,
        errorRate,
        latencyP50 = p50,
        latencyP99 = p50 * 4,
        requestCount = requests,
    };

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, ApiFactory.JsonOptions), System.Text.Encoding.UTF8, "application/json");
}
