using System.Net;

namespace FlagAnalyzer.Tests.Api.Anomalies;

public sealed class AnalyzeApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public AnalyzeApiTests() => _api = new AnalysisClient(_app.CreateClient());

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Analyze_OneFlagByName_ReportsTheRegressionAndItsOpenAnomaly()
    {
        var id = await _api.CreateFlagAsync("new-checkout");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 30);
        await _api.SendAsync(id, 4, errorRate: 2.4);

        var body = await (await _api.Http.PostJson("/api/analyze", new { flagId = "new-checkout" })).ReadJson();

        var report = Assert.Single(body.GetProperty("flags").EnumerateArray());
        Assert.Equal(id, report.GetProperty("flagId").GetString());
        Assert.Equal("before_after", report.GetProperty("mode").GetString());
        Assert.Equal(30, report.GetProperty("baseline").GetProperty("samples").GetInt32());
        Assert.Equal(4, report.GetProperty("current").GetProperty("samples").GetInt32());
        var errors = report.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("metric").GetString() == "error_rate");
        Assert.Equal("regression", errors.GetProperty("verdict").GetString());
        Assert.True(errors.GetProperty("sequentialPValue").GetDouble() < 0.01);
        Assert.Single(report.GetProperty("openAnomalies").EnumerateArray());
        // already raised by the metrics write: analysing again does not raise it twice
        Assert.Empty(body.GetProperty("detected").EnumerateArray());
    }

    [Fact]
    public async Task Analyze_WithoutABody_CoversEveryFlag()
    {
        var a = await _api.CreateFlagAsync("flag-a");
        var b = await _api.CreateFlagAsync("flag-b");

        var response = await _api.Http.PostAsync("/api/analyze", null);

        var body = await response.ReadJson();
        var ids = body.GetProperty("flags").EnumerateArray().Select(f => f.GetProperty("flagId").GetString()).ToList();
        Assert.Equal([a, b], ids);
        Assert.All(body.GetProperty("flags").EnumerateArray(), f => Assert.Equal("none", f.GetProperty("mode").GetString()));
    }

    [Fact]
    public async Task Analyze_UnknownFlag_Is404()
    {
        var response = await _api.Http.PostJson("/api/analyze", new { flagId = "no-such-flag" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Analyze_BlankFlagId_Is400NamingTheField()
    {
        var response = await _api.Http.PostRaw("/api/analyze", """{ "flagId": " " }""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("flagId", out _));
    }
}
