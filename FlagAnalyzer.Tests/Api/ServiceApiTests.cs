using System.Net;

namespace FlagAnalyzer.Tests.Api;

public sealed class ServiceApiTests : IDisposable
{
    private readonly ApiFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Root_DescribesServiceAndLinksItsParts()
    {
        var info = await (await _app.CreateClient().GetAsync("/")).ReadJson();

        Assert.Equal("FlagAnalyzer", info.GetProperty("name").GetString());
        Assert.Equal("/api/flags", info.GetProperty("links").GetProperty("flags").GetString());
        Assert.Equal("in-process", info.GetProperty("cache").GetString());
    }

    [Fact]
    public async Task OpenApiDocument_ListsTheFlagEndpoints()
    {
        var doc = await (await _app.CreateClient().GetAsync("/openapi/v1.json")).ReadJson();

        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/flags", paths);
        Assert.Contains("/api/flags/change", paths);
        Assert.Contains("/api/metrics", paths);
        Assert.Contains("/api/anomalies/{id}/acknowledge", paths);
    }

#if !POSTGRES // names the sqlite health check; PostgreSQL's is postgres (PostgresHealthTests)
    [Fact]
    public async Task Health_ReportsSqliteCheck_AndAliveAnswers()
    {
        var client = _app.CreateClient();
        var health = await client.GetAsync("/health");
        var body = await health.ReadJson();

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("sqlite").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive")).StatusCode);
    }
#endif
}
