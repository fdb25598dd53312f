using System.Text.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>Audited rows name the key that acted (actorKeyId, actorName), whatever the body claims in changedBy.</summary>
public sealed class AuditTrailTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _admin;

    public AuditTrailTests() => _admin = _app.CreateClient();

    [Fact]
    public async Task FlagChanges_RecordTheKey_AndKeepChangedByAsOnBehalfOf()
    {
        var key = await _admin.CreateKeyAsync("editor", name: "release bot");
        var editor = _app.CreateClient().WithKey(key.Secret);

        var flag = await (await editor.PostJson("/api/flags", new { name = "audited", changedBy = "alice@example.com" })).ReadAs<JsonElement>();
        await (await editor.PostJson("/api/flags/change", new
        {
            flagId = flag.GetProperty("id").GetString(), changeType = "enabled", newValue = new { enabled = true },
            changedBy = "mallory@example.com", environment = "development", // the flag's own: another is refused
        })).ReadAs<JsonElement>();

        var changes = (await (await _admin.GetAsync("/api/flags/audited/changes")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, changes.Count);
        Assert.All(changes, c => Assert.Equal((key.Id, "release bot"),
            (c.GetProperty("actorKeyId").GetString(), c.GetProperty("actorName").GetString())));
        Assert.Equal(["mallory@example.com", "alice@example.com"], changes.Select(c => c.GetProperty("changedBy").GetString()));
    }

    [Fact]
    public async Task AnomalyAcknowledgement_RecordsTheKey()
    {
        var key = await _admin.CreateKeyAsync("editor", name: "on-call");
        var anomaly = new Anomaly
        {
            Id = Ids.New("anm"), FlagId = "flg_x", Type = AnomalyType.ErrorSpike, Severity = Severity.High, Metric = "errorRate",
            Message = "arranged", DetectedAt = DateTimeOffset.UtcNow,
        };
        await using (var conn = await _app.Services.GetRequiredService<Db>().OpenAsync())
            await AnomalyStore.InsertAsync(conn, null, anomaly, CancellationToken.None);

        var acked = await (await _app.CreateClient().WithKey(key.Secret).PostJson($"/api/anomalies/{anomaly.Id}/acknowledge",
            new { acknowledgedBy = "bob" })).ReadAs<JsonElement>();
        var stored = await (await _admin.GetAsync($"/api/anomalies/{anomaly.Id}")).ReadJson();

        foreach (var a in new[] { acked, stored })
            Assert.Equal((key.Id, "on-call", "bob"),
                (a.GetProperty("actorKeyId").GetString(), a.GetProperty("actorName").GetString(), a.GetProperty("acknowledgedBy").GetString()));
    }

    [Fact]
    public async Task ChatMessages_RecordTheKey_AndViewersCannotChat()
    {
        var key = await _admin.CreateKeyAsync("editor", name: "analyst");
        var reply = await (await _app.CreateClient().WithKey(key.Secret).PostJson("/api/chat", new { message = "What is risky?" })).ReadAs<JsonElement>();
        var session = reply.GetProperty("sessionId").GetString();

        var messages = (await (await _admin.GetAsync($"/api/chat/{session}")).ReadJson()).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Equal(key.Id, m.GetProperty("actorKeyId").GetString()));
        var viewer = await _admin.CreateKeyAsync("viewer");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden,
            (await _app.CreateClient().WithKey(viewer.Secret).PostJson("/api/chat", new { message = "hi" })).StatusCode);
    }

    public void Dispose() => _app.Dispose();
}
