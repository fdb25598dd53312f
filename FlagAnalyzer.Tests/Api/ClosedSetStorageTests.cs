using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api;

/// <summary>
/// The closed sets in the database (SQLite here; PostgreSQL in FlagAnalyzer.Tests.Postgres): stored as today's words
/// in their text columns, read back as the same members; a stored word this build does not know leaves its row out of
/// reads (counted) rather than failing the list; an unknown word in a request is a 400 naming the field.
/// </summary>
public sealed class ClosedSetStorageTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public ClosedSetStorageTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private Db Db => _app.Services.GetRequiredService<Db>();

    private async Task<string?> Column<TId>(string sql, TId id)
    {
        await using var conn = await Db.OpenAsync();
        return await conn.ScalarAsync<string>(null, sql, new { id }, CancellationToken.None);
    }

    private async Task Exec(string sql, object param)
    {
        await using var conn = await Db.OpenAsync();
        await conn.ExecAsync(null, sql, param, CancellationToken.None);
    }

    private static Anomaly NewAnomaly(string flagId, AnomalyType type, Severity severity, AnomalyStatus status) => new()
    {
        Id = Ids.New("anm"), FlagId = flagId, Type = type, Severity = severity, Status = status, Metric = "error_rate",
        BaselineValue = 1, ObservedValue = 2, ChangePercent = 100, Confidence = 0.99, PValue = 0.01, Message = "arranged",
        DetectedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Anomalies_StoreTodaysWords_AndReadBackTheSameMembers()
    {
        var types = Enum.GetValues<AnomalyType>();
        var severities = Enum.GetValues<Severity>();
        var statuses = Enum.GetValues<AnomalyStatus>();
        var n = new[] { types.Length, severities.Length, statuses.Length }.Max();
        for (var i = 0; i < n; i++)
        {
            var a = NewAnomaly("flg_words", types[i % types.Length], severities[i % severities.Length], statuses[i % statuses.Length]);
            await using (var conn = await Db.OpenAsync()) await AnomalyStore.InsertAsync(conn, null, a, CancellationToken.None);

            Assert.Equal(Word(a.Type), await Column("SELECT type FROM anomalies WHERE id = @id", a.Id));
            Assert.Equal(Word(a.Severity), await Column("SELECT severity FROM anomalies WHERE id = @id", a.Id));
            Assert.Equal(Word(a.Status), await Column("SELECT status FROM anomalies WHERE id = @id", a.Id));
            await using (var conn = await Db.OpenAsync())
            {
                var read = await AnomalyStore.GetAsync(conn, null, a.Id, CancellationToken.None);
                Assert.Equal((a.Type, a.Severity, a.Status), (read!.Type, read.Severity, read.Status));
            }
            // and the list filters by the word
            var listed = await (await _client.GetAsync($"/api/anomalies?status={Word(a.Status)}&type={Word(a.Type)}&flagId=flg_words")).ReadJson();
            Assert.Contains(listed.GetProperty("items").EnumerateArray(), x => x.GetProperty("id").GetString() == a.Id);
        }
    }

    [Fact]
    public async Task ChangesPredictionsMessagesAndSamples_StoreTodaysWords_AndReadBackTheSameMembers()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "words" })).ReadJson();
        var flagId = flag.GetProperty("id").GetString()!;

        // the flag's own "created" change is there already: these go to a flag id of their own
        const string logged = "flg_logged";
        await using (var s = await Db.BeginWriteAsync(CancellationToken.None))
        {
            foreach (var type in Enum.GetValues<ChangeType>())
                await FlagStore.InsertChangeAsync(s, new FlagChange { Id = Ids.New("chg"), FlagId = logged, FlagName = "words", ChangeType = type, Timestamp = DateTimeOffset.UtcNow }, CancellationToken.None);
            await ChatStore.AppendAsync(s, "ses_words",
                [.. Enum.GetValues<MessageRole>().Select(r => new ChatMessageRecord(Ids.New("msg"), r, "hi", null, DateTimeOffset.UtcNow))], CancellationToken.None);
            await MetricStore.InsertAsync(s, [.. new Cohort?[] { Cohort.Treatment, Cohort.Control, null }.Select(c => new MetricSample
            {
                FlagId = flagId, Environment = "development", Timestamp = DateTimeOffset.UtcNow, Cohort = c, ErrorRate = 1, LatencyP50 = 10, LatencyP99 = 20, RequestCount = 100,
            })], CancellationToken.None);
            await s.CommitAsync(CancellationToken.None);
        }
        var impacts = Enum.GetValues<UserImpact>();
        var levels = Enum.GetValues<RiskLevel>();
        var predictions = impacts.Select((impact, i) => new Prediction
        {
            Id = Ids.New("prd"), FlagId = flagId, RiskLevel = levels[i % levels.Length], RiskScore = 10,
            PredictedImpact = new PredictedImpact(0, 0, impact), Source = PredictionSources.Statistical, Evidence = new JsonObject(),
            CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
        }).ToList();
        await using (var conn = await Db.OpenAsync())
            foreach (var p in predictions) await PredictionStore.InsertAsync(conn, null, p, CancellationToken.None);

        await using var read = await Db.OpenAsync();
        var changes = await FlagStore.ListChangesAsync(read, null, new FlagStore.ChangeFilter(logged, null, null, null), null, 100, CancellationToken.None);
        Assert.Equal(Enum.GetValues<ChangeType>().Order(), changes.Select(c => c.ChangeType).Order());
        foreach (var c in changes)
        {
            Assert.Equal(Word(c.ChangeType), await Column("SELECT change_type FROM flag_changes WHERE id = @id", c.Id));
            var filtered = await FlagStore.ListChangesAsync(read, null, new FlagStore.ChangeFilter(logged, c.ChangeType, null, null), null, 100, CancellationToken.None);
            Assert.Equal(c.Id, Assert.Single(filtered).Id);
        }

        var conversation = await ChatStore.GetAsync(read, "ses_words", CancellationToken.None);
        Assert.Equal(Enum.GetValues<MessageRole>(), conversation!.Messages.Select(m => m.Role));
        foreach (var m in conversation.Messages)
            Assert.Equal(Word(m.Role), await Column("SELECT role FROM conversations WHERE message_id = @id", m.MessageId));

        var samples = await MetricStore.RecentAsync(read, null, flagId, "development", 10, CancellationToken.None);
        Assert.Equal(new Cohort?[] { Cohort.Treatment, Cohort.Control, null }.Order(), samples.Select(x => x.Cohort).Order());
        foreach (var x in samples)
            Assert.Equal(x.Cohort is { } c ? Word(c) : null, await Column("SELECT cohort FROM impact_metrics WHERE id = @id", x.Id));
        Assert.Single(await MetricStore.ListAsync(read, null, flagId, "development", null, null, Cohort.Control, null, 10, CancellationToken.None));

        foreach (var p in predictions)
        {
            Assert.Equal(Word(p.RiskLevel), await Column("SELECT risk_level FROM predictions WHERE id = @id", p.Id));
            Assert.Equal(Word(p.PredictedImpact.UserImpact), await Column("SELECT user_impact FROM predictions WHERE id = @id", p.Id));
            var back = await PredictionStore.GetAsync(read, null, p.Id, CancellationToken.None);
            Assert.Equal((p.RiskLevel, p.PredictedImpact.UserImpact), (back!.RiskLevel, back.PredictedImpact.UserImpact));
        }
        var high = await (await _client.GetAsync($"/api/predictions?riskLevel=high&flagId={flagId}")).ReadJson();
        Assert.All(high.GetProperty("items").EnumerateArray(), x => Assert.Equal("high", x.GetProperty("riskLevel").GetString()));
        Assert.Equal(predictions.Count(p => p.RiskLevel == RiskLevel.High), high.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task AStoredWordThisBuildDoesNotKnow_LeavesItsRowOutOfReads_CountedAndTheRestListed()
    {
        var unknown = new List<(string Table, string Column)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StoredWords.MeterName && instrument.Name == StoredWords.UnknownWordsCounter) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? table = null, column = null;
            foreach (var t in tags)
            {
                if (t.Key == "db.table") table = t.Value as string;
                else if (t.Key == "db.column") column = t.Value as string;
            }
            lock (unknown) unknown.Add((table!, column!));
        });
        listener.Start();

        var known = NewAnomaly("flg_newer", AnomalyType.ErrorSpike, Severity.High, AnomalyStatus.Active);
        var newer = NewAnomaly("flg_newer", AnomalyType.LatencySpike, Severity.High, AnomalyStatus.Active);
        await using (var conn = await Db.OpenAsync())
        {
            await AnomalyStore.InsertAsync(conn, null, known, CancellationToken.None);
            await AnomalyStore.InsertAsync(conn, null, newer, CancellationToken.None);
        }
        // as a newer build would write it
        await Exec("UPDATE anomalies SET status = 'snoozed' WHERE id = @id", new { id = newer.Id });

        var list = await _client.GetAsync("/api/anomalies?status=all&flagId=flg_newer");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal([known.Id], (await list.ReadJson()).GetProperty("items").EnumerateArray().Select(x => x.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/anomalies/{newer.Id}")).StatusCode);
        lock (unknown) Assert.Contains(("anomalies", "status"), unknown);

        var flag = await (await _client.PostJson("/api/flags", new { name = "newer-change" })).ReadJson();
        var flagId = flag.GetProperty("id").GetString()!;
        await _client.PostJson("/api/flags/change", new { flagId, changeType = "enabled", newValue = new { enabled = true } });
        await Exec("UPDATE flag_changes SET change_type = 'archived' WHERE flag_id = @flagId AND change_type = 'created'", new { flagId });
        var changes = await _client.GetAsync($"/api/flags/{flagId}/changes");
        Assert.Equal(HttpStatusCode.OK, changes.StatusCode);
        Assert.Equal(["enabled"], (await changes.ReadJson()).GetProperty("items").EnumerateArray().Select(x => x.GetProperty("changeType").GetString()));
        lock (unknown) Assert.Contains(("flag_changes", "change_type"), unknown);
    }

    [Theory]
    [InlineData("/api/anomalies?status=bogus", "status")]
    [InlineData("/api/anomalies?status=Active", "status")]
    [InlineData("/api/anomalies?type=error-spike", "type")]
    [InlineData("/api/predictions?riskLevel=High", "riskLevel")]
    [InlineData("/api/flags/changes?changeType=RolledBack", "changeType")]
    public async Task AnUnknownWordInAQuery_Is400NamingTheParameter(string url, string field)
    {
        var response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal([field], (await response.ReadJson()).GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task AnUnknownWordInAFlagsQueryOrBody_Is400NamingTheField()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "bad-words" })).ReadJson();
        var flagId = flag.GetProperty("id").GetString()!;

        async Task<string[]> Fields(HttpResponseMessage r)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            return [.. (await r.ReadJson()).GetProperty("errors").EnumerateObject().Select(p => p.Name)];
        }

        Assert.Equal(["changeType"], await Fields(await _client.GetAsync($"/api/flags/{flagId}/changes?changeType=archived")));
        Assert.Equal(["cohort"], await Fields(await _client.GetAsync($"/api/flags/{flagId}/metrics?cohort=Treatment")));
        Assert.Equal(["changeType"], await Fields(await _client.PostJson("/api/flags/change", new { flagId, changeType = "Enabled" })));
        Assert.Equal(["cohort"], await Fields(await _client.PostJson("/api/metrics",
            new { flagId, cohort = "both", errorRate = 1, latencyP50 = 10, latencyP99 = 20, requestCount = 10 })));
        Assert.Equal(["[1].cohort"], await Fields(await _client.PostJson("/api/metrics", new object[]
        {
            new { flagId, cohort = "control", errorRate = 1, latencyP50 = 10, latencyP99 = 20, requestCount = 10 },
            new { flagId, cohort = "", errorRate = 1, latencyP50 = 10, latencyP99 = 20, requestCount = 10 },
        })));
        // nothing was written by the refused requests
        await using var conn = await Db.OpenAsync();
        Assert.Equal(0, await conn.ScalarAsync<long>(null, "SELECT COUNT(*) FROM impact_metrics WHERE flag_id = @flagId", new { flagId }, CancellationToken.None));
    }

    private static string Word<T>(T value) where T : struct, Enum => WireNames<T>.Name(value);
}
