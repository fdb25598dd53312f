using System.Text.Json;
using FlagAnalyzer.Tests.Api;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>Data the browser tests set up through the API, as a user's other systems would.</summary>
public static class TestData
{
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static async Task<JsonElement> CreateFlagAsync(HttpClient api, string name, string environment = "staging", bool enabled = false,
        string owner = "web-tests", string[]? tags = null)
    {
        var response = await api.PostJson("/api/flags", new
        {
            name, description = "created by a browser test", enabled, rolloutPercentage = enabled ? 100 : 0,
            targetEnvironment = environment, owner, tags = tags ?? ["browser"],
        });
        return await response.ReadAs<JsonElement>();
    }

    /// <summary>Samples around a steady level with a little seeded noise, one per <paramref name="step"/>, ending at <paramref name="end"/>.</summary>
    public static object[] Samples(string flagId, int count, double errorRate, double latencyP50, DateTimeOffset end, TimeSpan step, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var p50 = latencyP50 * (1 + (random.NextDouble() - 0.5) * 0.1);
            return (object)new
            {
                flagId,
                timestamp = end - step * (count - 1 - i),
                errorRate = Math.Round(errorRate * (1 + (random.NextDouble() - 0.5) * 0.2), 3),
                latencyP50 = Math.Round(p50, 1),
                latencyP99 = Math.Round(p50 * 2.5, 1),
                requestCount = 5000,
                conversionRate = 3.2,
                userSatisfactionScore = 4.2,
            };
        }).ToArray();
    }

    public static async Task PostMetricsAsync(HttpClient api, object[] samples) =>
        await (await api.PostJson("/api/metrics", samples)).ReadAs<JsonElement>();

    public static async Task<JsonElement> RecordChangeAsync(HttpClient api, JsonElement flag, string changeType, bool enabled, string changedBy) =>
        await (await api.PostJson("/api/flags/change", new
        {
            flagId = flag.GetProperty("id").GetString(),
            flagName = flag.GetProperty("name").GetString(),
            changeType,
            previousValue = new { enabled = !enabled },
            newValue = new { enabled, rolloutPercentage = enabled ? 100 : 0 },
            changedBy,
            environment = flag.GetProperty("targetEnvironment").GetString(),
        })).ReadAs<JsonElement>();
}
