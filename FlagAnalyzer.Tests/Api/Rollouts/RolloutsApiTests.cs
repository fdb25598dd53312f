using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Rollouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.Rollouts;

/// <summary>A plan driven by posted cohort samples, on the real API with a fake clock: a whole plan runs in milliseconds.</summary>
public sealed class RolloutsApiTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private ApiFactory _app;
    private HttpClient _http;

    public RolloutsApiTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<TimeProvider>(_clock) };
        // the tests tick the guardian themselves; its own timer would only race them
        _app.Settings["Rollouts:TickInterval"] = "1.00:00:00";
        _http = _app.CreateClient();
    }

    public void Dispose() => _app.Dispose();

    private static readonly object[] Stages =
    [
        new { percentage = 10, minDurationSeconds = 300, minRequests = 1000 },
        new { percentage = 50, minDurationSeconds = 300, minRequests = 1000 },
        new { percentage = 100, minDurationSeconds = 0, minRequests = 0 },
    ];

    private async Task<string> CreateFlagAsync(string name) =>
        (await (await _http.PostJson("/api/flags", new { name })).ReadJson()).GetProperty("id").GetString()!;

    private async Task<JsonElement> GetFlagAsync(string id) => await (await _http.GetAsync($"/api/flags/{id}")).ReadJson();

    private async Task<JsonElement> GetRolloutAsync(string id) => await (await _http.GetAsync($"/api/flags/{id}/rollout")).ReadJson();

    /// <summary>A second later, so the change log's order (by time) is the order of the calls.</summary>
    private Task<HttpResponseMessage> PostLaterAsync(string url)
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        return _http.PostAsync(url, null);
    }

    private Task<IReadOnlyList<RolloutDecision>> TickAsync() => _app.Services.GetRequiredService<RolloutGuardian>().TickAsync();

    /// <summary>One minute of traffic: 10,000 requests split as <paramref name="percentage"/> says, one sample per cohort.</summary>
    private async Task MinutesAsync(string id, int minutes, double percentage, double treatmentErrors = 1)
    {
        for (var i = 0; i < minutes; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            var treatment = (long)(10_000 * percentage / 100);
            var at = _clock.GetUtcNow().AddSeconds(-1);
            var r = await _http.PostJson("/api/metrics", new object[]
            {
                new { flagId = id, cohort = "treatment", errorRate = treatmentErrors, latencyP50 = 100 + i % 3, latencyP99 = 400 + i % 5, requestCount = treatment, timestamp = at },
                new { flagId = id, cohort = "control", errorRate = 1.0, latencyP50 = 100 + i % 2, latencyP99 = 400 + i % 4, requestCount = 10_000 - treatment, timestamp = at },
            });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            await TickAsync();
        }
    }

    [Fact]
    public async Task Plan_AdvancesOnCohortEvidence_ThenRollsBackOnARegression_AsGuardianWithTheEvidence()
    {
        var id = await CreateFlagAsync("rollout-guarded");
        Assert.Equal("pending", (await (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })).ReadJson())
            .GetProperty("plan").GetProperty("state").GetString());

        var started = await (await _http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).ReadJson();
        Assert.Equal("running", started.GetProperty("plan").GetProperty("state").GetString());
        var flag = await GetFlagAsync(id);
        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(10, flag.GetProperty("rolloutPercentage").GetDouble());

        await MinutesAsync(id, 4, 10);
        var waiting = await GetRolloutAsync(id);
        Assert.Equal(0, waiting.GetProperty("plan").GetProperty("currentStage").GetInt32());
        Assert.Equal("hold", waiting.GetProperty("evaluation").GetProperty("action").GetString());
        Assert.Equal(60, waiting.GetProperty("evaluation").GetProperty("progress").GetProperty("secondsLeft").GetDouble());

        await MinutesAsync(id, 1, 10);
        Assert.Equal(1, (await GetRolloutAsync(id)).GetProperty("plan").GetProperty("currentStage").GetInt32());
        Assert.Equal(50, (await GetFlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());

        await MinutesAsync(id, 3, 50, treatmentErrors: 4);
        var rolledBack = await GetRolloutAsync(id);
        Assert.Equal("rolled_back", rolledBack.GetProperty("plan").GetProperty("state").GetString());
        flag = await GetFlagAsync(id);
        Assert.False(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, flag.GetProperty("rolloutPercentage").GetDouble());

        var changes = (await (await _http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        var rollback = changes.First();
        Assert.Equal("rolled_back", rollback.GetProperty("changeType").GetString());
        Assert.Equal("guardian", rollback.GetProperty("changedBy").GetString());
        Assert.Contains("error_rate", rollback.GetProperty("reason").GetString());
        Assert.Contains(changes, c => c.GetProperty("changedBy").GetString() == "guardian" && c.GetProperty("reason").GetString()!.StartsWith("Advanced to stage 2"));
        Assert.Contains(changes, c => c.GetProperty("changedBy").GetString() == "alice" && c.GetProperty("reason").GetString()!.StartsWith("Rollout started by alice"));
    }

    [Fact]
    public async Task Plan_SurvivesARestartInTheMiddle_AndCompletes()
    {
        var id = await CreateFlagAsync("rollout-restart");
        await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages });
        await _http.PostAsync($"/api/flags/{id}/rollout/start", null);
        await MinutesAsync(id, 3, 10);

        _app.Dispose();
        _app = _app.Restart();
        _http = _app.CreateClient();

        await MinutesAsync(id, 2, 10);
        Assert.Equal(1, (await GetRolloutAsync(id)).GetProperty("plan").GetProperty("currentStage").GetInt32());
        await MinutesAsync(id, 5, 50);
        Assert.Equal("completed", (await GetRolloutAsync(id)).GetProperty("plan").GetProperty("state").GetString());
        Assert.Equal(100, (await GetFlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task BadPlan_Is400NamingTheStage()
    {
        var id = await CreateFlagAsync("rollout-bad-plan");
        var r = await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new
        {
            stages = new object[] { new { percentage = 5 }, new { percentage = 50 }, new { percentage = 20 }, new { percentage = 100, minRequests = -1 } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var errors = (await r.ReadJson()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("stages[2].percentage", out _));
        Assert.True(errors.TryGetProperty("stages[3].minRequests", out _));
    }

    [Fact]
    public async Task OmittedStages_AreTheDefault_AndASecondPlanWhileRunningIs409()
    {
        var id = await CreateFlagAsync("rollout-one-at-a-time");
        var plan = (await (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { })).ReadJson()).GetProperty("plan");
        Assert.Equal([1.0, 5, 25, 50, 100], plan.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("percentage").GetDouble()));
        await _http.PostAsync($"/api/flags/{id}/rollout/start", null);
        Assert.Equal(HttpStatusCode.Conflict, (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _http.PostAsync($"/api/flags/{id}/rollout/start", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _http.PostAsync($"/api/flags/{id}/rollout/resume", null)).StatusCode);
    }

    [Fact]
    public async Task PauseResumePromoteAbort_AreRecordedAsTheCallers()
    {
        var id = await CreateFlagAsync("rollout-manual");
        await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages });
        await _http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=bob", null);
        var paused = (await (await PostLaterAsync($"/api/flags/{id}/rollout/pause?changedBy=bob")).ReadJson()).GetProperty("plan");
        Assert.Equal(("paused", true), (paused.GetProperty("state").GetString(), paused.GetProperty("reason").GetString()!.Contains("paused by bob")));
        var resumed = (await (await PostLaterAsync($"/api/flags/{id}/rollout/resume?changedBy=bob")).ReadJson()).GetProperty("plan");
        Assert.Equal(("running", true), (resumed.GetProperty("state").GetString(), resumed.GetProperty("reason").GetString()!.Contains("resumed by bob")));
        var promoted = (await (await PostLaterAsync($"/api/flags/{id}/rollout/promote?changedBy=carol")).ReadJson()).GetProperty("plan");
        Assert.Equal(1, promoted.GetProperty("currentStage").GetInt32());
        Assert.Equal(50, (await GetFlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal("aborted", (await (await PostLaterAsync($"/api/flags/{id}/rollout/abort?changedBy=dave")).ReadJson()).GetProperty("plan").GetProperty("state").GetString());
        Assert.False((await GetFlagAsync(id)).GetProperty("enabled").GetBoolean());

        var by = (await (await _http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray()
            .Select(c => c.GetProperty("changedBy").GetString()).Take(2).ToList();
        // pause and resume leave the flag as it is: the plan records them (above), the change log only what changed the flag
        Assert.Equal(["dave", "carol"], by);
    }

    [Fact]
    public async Task Schedule_FiresAtItsTime_AndASecondFiringOfTheRowSeenDueIsRefused()
    {
        var id = await CreateFlagAsync("scheduled-enable");
        var created = await _http.PostJson($"/api/flags/{id}/schedules", new { action = "enable", at = _clock.GetUtcNow().AddMinutes(10) });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        _clock.Advance(TimeSpan.FromMinutes(9));
        await TickAsync();
        Assert.False((await GetFlagAsync(id)).GetProperty("enabled").GetBoolean());

        _clock.Advance(TimeSpan.FromMinutes(1));
        // one replica, the same row seen due twice: the row claim refuses the second firing (two real replicas racing for
        // it: FlagAnalyzer.Tests.Postgres/RolloutReplicaTests)
        var schedules = _app.Services.GetRequiredService<ScheduleService>();
        var seen = Assert.Single((await (await _http.GetAsync($"/api/flags/{id}/schedules")).ReadAs<Page<FlagSchedule>>()).Items);
        Assert.Null(seen.FiredAt);
        Assert.True(await schedules.FireAsync(seen, default));
        Assert.False(await schedules.FireAsync(seen, default));
        Assert.Equal(0, await schedules.FireDueAsync(default));
        Assert.True((await GetFlagAsync(id)).GetProperty("enabled").GetBoolean());

        var list = (await (await _http.GetAsync($"/api/flags/{id}/schedules")).ReadJson()).GetProperty("items");
        var s = Assert.Single(list.EnumerateArray());
        Assert.NotEqual(JsonValueKind.Null, s.GetProperty("firedAt").ValueKind);
        Assert.Equal("done: enabled", s.GetProperty("outcome").GetString());
        var enabledRows = (await (await _http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray()
            .Count(c => c.GetProperty("changeType").GetString() == "enabled");
        Assert.Equal(1, enabledRows);
    }
}
