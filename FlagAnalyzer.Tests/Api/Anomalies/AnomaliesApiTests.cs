using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Api.Anomalies;

/// <summary>The anomaly list and acknowledge endpoints; anomalies are arranged straight in the store.</summary>
public sealed class AnomaliesApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public AnomaliesApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<Anomaly> Arrange(string flagId, AnomalyStatus status = AnomalyStatus.Active, AnomalyType type = AnomalyType.ErrorSpike)
    {
        var a = new Anomaly
        {
            Id = FlagAnalyzer.Api.Common.Ids.New("anm"),
            FlagId = flagId,
            Type = type,
            Severity = Severity.High,
            Metric = "errorRate",
            BaselineValue = 1,
            ObservedValue = 2.5,
            ChangePercent = 150,
            Confidence = 0.99,
            PValue = 0.01,
            Message = "arranged",
            Status = status,
            DetectedAt = DateTimeOffset.UtcNow,
        };
        var db = _app.Services.GetRequiredService<Db>();
        await using var conn = await db.OpenAsync();
        await AnomalyStore.InsertAsync(conn, null, a, CancellationToken.None);
        return a;
    }

    [Fact]
    public async Task List_DefaultsToOpen_AndFiltersByStatusFlagAndType()
    {
        _ = _client; // app started
        var active = await Arrange("flg_a");
        var acked = await Arrange("flg_b", AnomalyStatus.Acknowledged, AnomalyType.LatencySpike);
        var resolved = await Arrange("flg_a", AnomalyStatus.Resolved);

        async Task<string[]> Ids(string query) =>
            (await (await _client.GetAsync($"/api/anomalies{query}")).ReadJson()).GetProperty("items").EnumerateArray()
                .Select(a => a.GetProperty("id").GetString()!).Order().ToArray();

        Assert.Equal(new[] { active.Id, acked.Id }.Order(), await Ids(""));
        Assert.Equal([resolved.Id], await Ids("?status=resolved"));
        Assert.Equal(new[] { active.Id, acked.Id, resolved.Id }.Order(), await Ids("?status=all"));
        Assert.Equal(new[] { active.Id, resolved.Id }.Order(), await Ids("?status=all&flagId=flg_a"));
        Assert.Equal([acked.Id], await Ids("?type=latency_spike"));
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/api/anomalies?status=sleeping")).StatusCode);
    }

    [Fact]
    public async Task Acknowledge_MovesActiveToAcknowledged_Idempotently()
    {
        var a = await Arrange("flg_ack");

        var first = await (await _client.PostAsJsonAsync($"/api/anomalies/{a.Id}/acknowledge", new { acknowledgedBy = "oncall" })).ReadJson();
        var again = await _client.PostAsync($"/api/anomalies/{a.Id}/acknowledge", null);

        Assert.Equal("acknowledged", first.GetProperty("status").GetString());
        Assert.Equal("oncall", first.GetProperty("acknowledgedBy").GetString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var stored = await (await _client.GetAsync($"/api/anomalies/{a.Id}")).ReadJson();
        Assert.Equal("acknowledged", stored.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Acknowledge_Resolved_Is409_AndUnknown_Is404()
    {
        var resolved = await Arrange("flg_done", AnomalyStatus.Resolved);

        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/api/anomalies/{resolved.Id}/acknowledge", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync("/api/anomalies/anm_nope/acknowledge", null)).StatusCode);
    }
}
