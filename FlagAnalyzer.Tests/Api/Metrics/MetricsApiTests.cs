using System.Net;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Metrics;

public sealed class MetricsApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public MetricsApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<string> NewFlag(string name) =>
        (await (await _client.PostJson("/api/flags", new { name })).ReadJson()).GetProperty("id").GetString()!;

    private static object Sample(string flagId, double errorRate = 0.5, double p50 = 40, double p99 = 120, long requests = 1000,
        string? cohort = null, DateTimeOffset? at = null) =>
        new { flagId, errorRate, latencyP50 = p50, latencyP99 = p99, requestCount = requests, cohort, timestamp = at };

    [Fact]
    public async Task Batch_IsStoredWholeAndListedInTimeOrder()
    {
        var id = await NewFlag("batch");
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-30);
        var batch = Enumerable.Range(0, 25).Reverse().Select(i => Sample(id, p50: 40 + i, p99: 200, at: t0.AddMinutes(i))).ToArray();

        var accepted = await (await _client.PostJson("/api/metrics", batch)).ReadJson();
        var listed = await (await _client.GetAsync($"/api/flags/{id}/metrics")).ReadJson();

        Assert.Equal(25, accepted.GetProperty("accepted").GetInt32());
        var p50s = listed.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("latencyP50").GetDouble()).ToArray();
        Assert.Equal(Enumerable.Range(0, 25).Select(i => 40.0 + i), p50s);
    }

    [Fact]
    public async Task Batch_WithOneBadSample_StoresNothingAndNamesTheSample()
    {
        var id = await NewFlag("atomic");
        var batch = new[] { Sample(id), Sample(id, p50: 200, p99: 100), Sample(id) };

        var response = await _client.PostJson("/api/metrics", batch);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJson()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("[1].latencyP99", out _));
        var listed = await (await _client.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        Assert.Empty(listed.GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("errorRate", 101.0)]
    [InlineData("errorRate", -0.1)]
    [InlineData("requestCount", -5.0)]
    [InlineData("conversionRate", 120.0)]
    [InlineData("userSatisfactionScore", 5.5)]
    [InlineData("latencyP50", -1.0)]
    public async Task ContradictoryOrOutOfRangeSample_Is400NamingTheField(string field, double value)
    {
        var id = await NewFlag("ranges");
        var sample = new Dictionary<string, object?>
        {
            ["flagId"] = id, ["errorRate"] = 1.0, ["latencyP50"] = 10.0, ["latencyP99"] = 20.0, ["requestCount"] = 100,
            [field] = field == "requestCount" ? (long)value : value,
        };

        var response = await _client.PostJson("/api/metrics", sample);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task MissingRequiredFields_AreEachNamed()
    {
        var response = await _client.PostRaw("/api/metrics", """{"flagId":"x"}""");

        var errors = (await response.ReadJson()).GetProperty("errors").EnumerateObject().Select(p => p.Name).Order();
        Assert.Equal(["errorRate", "latencyP50", "latencyP99", "requestCount"], errors);
    }

    [Fact]
    public async Task UnknownCohort_AndFutureTimestamp_Are400()
    {
        var id = await NewFlag("cohorts");

        var badCohort = await _client.PostJson("/api/metrics", Sample(id, cohort: "canary"));
        var future = await _client.PostJson("/api/metrics", Sample(id, at: DateTimeOffset.UtcNow.AddHours(2)));

        Assert.True((await badCohort.ReadJson()).GetProperty("errors").TryGetProperty("cohort", out _));
        Assert.True((await future.ReadJson()).GetProperty("errors").TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task SampleForUnknownFlag_Is404()
    {
        var response = await _client.PostJson("/api/metrics", Sample("flg_nobody"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task FlagName_IsAcceptedInPlaceOfId()
    {
        var id = await NewFlag("by-name");

        await _client.PostJson("/api/metrics", Sample("by-name"));

        var listed = await (await _client.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        Assert.Equal(id, Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("flagId").GetString());
    }

    [Fact]
    public async Task EmptyBodyOrEmptyArray_Is400()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostRaw("/api/metrics", "")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostRaw("/api/metrics", "[]")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostRaw("/api/metrics", "[1,2]")).StatusCode);
    }

    [Fact]
    public async Task List_FiltersByCohortAndTimeAndPages()
    {
        var id = await NewFlag("filtered");
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        var batch = Enumerable.Range(0, 10)
            .Select(i => Sample(id, cohort: i % 2 == 0 ? "treatment" : "control", at: t0.AddMinutes(i))).ToArray();
        await _client.PostJson("/api/metrics", batch);

        var treatment = await (await _client.GetAsync($"/api/flags/{id}/metrics?cohort=treatment")).ReadJson();
        var since = Uri.EscapeDataString(t0.AddMinutes(5).ToString("O"));
        var late = await (await _client.GetAsync($"/api/flags/{id}/metrics?since={since}")).ReadJson();
        var first = await (await _client.GetAsync($"/api/flags/{id}/metrics?limit=4")).ReadJson();
        var second = await (await _client.GetAsync($"/api/flags/{id}/metrics?limit=4&cursor={first.GetProperty("nextCursor").GetString()}")).ReadJson();

        Assert.Equal(5, treatment.GetProperty("items").GetArrayLength());
        Assert.All(treatment.GetProperty("items").EnumerateArray(), m => Assert.Equal("treatment", m.GetProperty("cohort").GetString()));
        Assert.Equal(5, late.GetProperty("items").GetArrayLength());
        var ids = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(m => m.GetProperty("id").GetInt64()).ToArray();
        Assert.Equal(8, ids.Distinct().Count());
    }

    [Fact]
    public async Task List_UnknownFlag_Is404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/flags/ghost/metrics")).StatusCode);
    }
}
