using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// Metric groups for one flag copy their samples at once (<see cref="WriteLock.Ingest"/>) and take turns only for detection,
/// so a group that reserved its ids later can commit first. The test makes that happen on purpose and checks that every
/// sample is stored once and that the detection window, kept incrementally, counts each of them once.
/// </summary>
public sealed class IngestLockTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly AnalysisClient _api;

    public IngestLockTests()
    {
        // the rollout test reads the plan's evidence itself; the guardian's timer would only race it
        _app.Settings["Rollouts:TickInterval"] = "1.00:00:00";
        _api = new AnalysisClient(_app.CreateClient());
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task TwoGroupsForOneFlag_CommittingOutOfIdOrder_StoreEverySampleOnce_AndDetectionCountsEachOnce()
    {
        // two flags: `held` sorts first among their detection keys, so a group for both waits for `held`'s key before `flag`'s
        var (one, two) = (await _api.CreateFlagAsync($"ingest-a-{Guid.NewGuid():N}"[..20]), await _api.CreateFlagAsync($"ingest-b-{Guid.NewGuid():N}"[..20]));
        var (flag, held) = DetectionKey(one) > DetectionKey(two) ? (one, two) : (two, one);
        foreach (var id in new[] { flag, held })
        {
            await _api.SendBaselineAsync(id);
            await _api.RollOutAsync(id, 10);
            await _api.SendAsync(id, 1, errorRate: 1.0); // each flag's window exists before the groups below
        }
        var windows = _app.Services.GetRequiredService<FlagWindowCache>();
        var rebuilds = windows.Rebuilds;

        Task<HttpResponseMessage> first;
        HttpResponseMessage second;
        var db = new Db(_app.DatabasePath);
        await using (var detecting = await db.BeginWriteAsync(WriteLock.Ingest([held])))
        {
            // another ingest's detection of `held` in progress, as a group of another replica would hold it
            await detecting.LockAsync(WriteLock.Flag(held));

            // the first group reserves its ids and copies its samples, then waits for `held`'s detection key
            first = _api.Http.PostJson("/api/metrics", Samples(flag, 3).Concat(Samples(held, 2)).ToArray());
            Assert.True(await Wait.Until(async () => await WaitingForAsync(DetectionKey(held)) >= 1, Wait.Arrival),
                "the first group never reached detection");

            // the second group, for `flag` alone, gets later ids and commits while the first one is still open
            second = await _api.Http.PostJson("/api/metrics", Samples(flag, 4).ToArray()).WaitAsync(Wait.Arrival);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.False(first.IsCompleted, "the first group committed while another detection of its flag was open");
        }
        Assert.Equal(HttpStatusCode.OK, (await first.WaitAsync(Wait.Arrival)).StatusCode);
        Assert.True(await IdsAsync(flag, 3, max: true) < await IdsAsync(flag, 4, max: false),
            "the second group's ids are not above the first's: the groups did not commit out of id order");

        // stored once: 30 baseline + 1 + 3 + 4
        Assert.Equal(38, await TestDatabase.ScalarAsync(_app.DatabasePath, "SELECT COUNT(*) FROM impact_metrics WHERE flag_id = @id", ("id", flag)));
        // counted once, by the incremental window (no rebuild since): the samples after the rollout are 1 + 3 + 4
        var report = (await (await _api.Http.PostJson("/api/analyze", new { flagId = flag })).ReadJson()).GetProperty("flags")[0];
        Assert.Equal(8, report.GetProperty("current").GetProperty("samples").GetInt32());
        Assert.Equal(rebuilds, windows.Rebuilds);
    }

    [Fact]
    public async Task ARolloutReadWithoutTheFlagsLock_WhileAnEarlierBatchIsInFlight_DoesNotSkipThatBatchInTheEvidence()
    {
        var (one, two) = (await _api.CreateFlagAsync($"evidence-a-{Guid.NewGuid():N}"[..22]), await _api.CreateFlagAsync($"evidence-b-{Guid.NewGuid():N}"[..22]));
        var (flag, held) = DetectionKey(one) > DetectionKey(two) ? (one, two) : (two, one);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PutAsJsonAsync($"/api/flags/{flag}/rollout", new
        {
            stages = new object[] { new { percentage = 10, minDurationSeconds = 3600, minRequests = 1_000_000 }, new { percentage = 100, minDurationSeconds = 0, minRequests = 0 } },
        })).StatusCode);
        // the start reads the plan's (empty) evidence inside its transaction and keeps it
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/flags/{flag}/rollout/start?changedBy=alice", null)).StatusCode);

        Task<HttpResponseMessage> first;
        var db = new Db(_app.DatabasePath);
        await using (var detecting = await db.BeginWriteAsync(WriteLock.Ingest([held])))
        {
            await detecting.LockAsync(WriteLock.Flag(held));
            first = _api.Http.PostJson("/api/metrics", Samples(flag, 3, "treatment").Concat(Samples(held, 2, "treatment")).ToArray());
            Assert.True(await Wait.Until(async () => await WaitingForAsync(DetectionKey(held)) >= 1, Wait.Arrival),
                "the first group never reached detection");
            Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostJson("/api/metrics", Samples(flag, 4, "treatment").ToArray()).WaitAsync(Wait.Arrival)).StatusCode);

            // a read without the flag's lock sees the later batch (its ids above the earlier one's, still in flight)
            Assert.Equal(4 * 7004, await TreatmentRequestsAsync(flag));
        }
        Assert.Equal(HttpStatusCode.OK, (await first.WaitAsync(Wait.Arrival)).StatusCode);

        // both batches are in the evidence once the earlier one committed
        Assert.Equal(3 * 7003 + 4 * 7004, await TreatmentRequestsAsync(flag));
    }

    private async Task<double> TreatmentRequestsAsync(string flagId) =>
        (await (await _api.Http.GetAsync($"/api/flags/{flagId}/rollout")).ReadJson())
        .GetProperty("evaluation").GetProperty("progress").GetProperty("treatmentRequests").GetDouble();

    /// <summary>Samples stamped now whose request count marks the batch they came in (7,000 + count).</summary>
    private static IEnumerable<object> Samples(string flagId, int count, string? cohort = null) =>
        Enumerable.Range(0, count).Select(_ => new { flagId, cohort, errorRate = 1.0, latencyP50 = 100.0, latencyP99 = 400.0, requestCount = 7000 + count });

    /// <summary>The highest (or lowest) id of the flag's samples from the batch of <paramref name="count"/>.</summary>
    private Task<long> IdsAsync(string flagId, int count, bool max) => TestDatabase.ScalarAsync(_app.DatabasePath,
        $"SELECT {(max ? "MAX" : "MIN")}(id) FROM impact_metrics WHERE flag_id = @id AND request_count = @n", ("id", flagId), ("n", 7000L + count));

    private static long DetectionKey(string flagId) => Assert.Single(WriteLock.Flag(flagId).DetectionKeys());

    /// <summary>Transactions of this database waiting for the advisory key <paramref name="key"/>.</summary>
    private Task<long> WaitingForAsync(long key) =>
        // a bigint advisory key shows as its high half in classid, its low half in objid (objsubid 1)
        TestDatabase.ScalarAsync(_app.DatabasePath, $"""
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
              AND classid = {(uint)(key >> 32)} AND objid = {(uint)key}
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """);
}
