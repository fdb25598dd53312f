using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Tests.Api.Anomalies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.Rollouts;

/// <summary>
/// Issue 25 item 4: rollbacks on detection's anomalies and staged-plan decisions are one guardian (Rollouts) — a flag is
/// rolled back once per regression, and the stage machine's evidence is read incrementally, not re-read on every pass.
/// </summary>
public sealed class OneGuardianTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ApiFactory _app;
    private readonly AnalysisClient _api;

    public OneGuardianTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<TimeProvider>(_clock) };
        // the tests tick the guardian themselves; its own timer would only race them
        _app.Settings["Rollouts:TickInterval"] = "1.00:00:00";
        _api = new AnalysisClient(_app.CreateClient());
    }

    public void Dispose() => _app.Dispose();

    private static readonly object[] Stages =
    [
        new { percentage = 10, minDurationSeconds = 300, minRequests = 1000 },
        new { percentage = 100, minDurationSeconds = 0, minRequests = 0 },
    ];

    private Task<IReadOnlyList<RolloutDecision>> TickAsync() => _app.Services.GetRequiredService<RolloutGuardian>().TickAsync();

    private async Task StartPlanAsync(string id)
    {
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);
    }

    private async Task<List<JsonElement>> RollbacksAsync(string id) =>
        (await (await _api.Http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray()
        .Where(c => c.GetProperty("changeType").GetString() == "rolled_back").ToList();

    [Fact]
    public async Task AutoRollbackFlagWithARunningPlan_IsRolledBackOnce_AndThePlanEndsWithIt()
    {
        var id = await _api.CreateFlagAsync("one-guardian", autoRollback: true);
        await StartPlanAsync(id);

        // 10 % of the requests in treatment, as the stage promises; treatment errors 3× control: a confirmed high regression
        var body = await _api.SendCohortsAsync(id, 5, control: (1, 9000), treatment: (3, 1000));
        var anomaly = Assert.Single(body.GetProperty("anomalies").EnumerateArray());

        // rolled back in the metrics write itself, and the plan ended in the same change (not left running to be judged again)
        var plan = (await (await _api.Http.GetAsync($"/api/flags/{id}/rollout")).ReadJson()).GetProperty("plan");
        Assert.Equal("rolled_back", plan.GetProperty("state").GetString());
        Assert.Contains(anomaly.GetProperty("id").GetString()!, plan.GetProperty("reason").GetString());
        var rollback = Assert.Single(await RollbacksAsync(id));
        Assert.Equal("guardian", rollback.GetProperty("changedBy").GetString());

        // the stage machine's pass and more of the same traffic do not roll the flag back a second time
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(await TickAsync());
        await _api.SendCohortsAsync(id, 3, control: (1, 9000), treatment: (3, 1000));
        Assert.Empty(await TickAsync());
        Assert.Single(await RollbacksAsync(id));
    }

    [Fact]
    public async Task GuardianPasses_ReadAPlansEvidenceOnce_ThenOnlyTheNewSamples()
    {
        var id = await _api.CreateFlagAsync("incremental-evidence");
        // a long first stage: the plan keeps running (and its evidence cached) through every pass below
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PutAsJsonAsync($"/api/flags/{id}/rollout", new
        {
            stages = new object[] { new { percentage = 10, minDurationSeconds = 3600, minRequests = 1000 }, new { percentage = 100, minDurationSeconds = 0, minRequests = 0 } },
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);
        // the start read the plan's (empty) evidence in full, once
        var cache = _app.Services.GetRequiredService<RolloutEvidenceCache>();
        var fullReads = cache.FullReads;
        Assert.True(fullReads >= 1);

        for (var minute = 1; minute <= 6; minute++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            await _api.SendCohortsAsync(id, 1, control: (1, 9000), treatment: (1, 1000 + minute));
            await TickAsync();
        }

        // every sample is in the evidence (six per cohort since the start), although no pass read the plan's samples in full again
        var rollout = await (await _api.Http.GetAsync($"/api/flags/{id}/rollout")).ReadJson();
        Assert.Equal("running", rollout.GetProperty("plan").GetProperty("state").GetString());
        var progress = rollout.GetProperty("evaluation").GetProperty("progress");
        Assert.Equal(6 * 9000, progress.GetProperty("controlRequests").GetDouble());
        Assert.Equal(6 * 1000 + 21, progress.GetProperty("treatmentRequests").GetDouble());
        Assert.Equal(fullReads, cache.FullReads);
    }
}
