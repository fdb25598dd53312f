using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Rollouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.Rollouts;

/// <summary>
/// Issue 26 items 3 and 7 on the real API with a fake clock: a plan is of one environment, its guardian weighs that
/// environment's samples only, and its rollback acts there — staging traffic with a terrible error rate neither rolls a
/// production rollout back nor pauses it; the same traffic in production does.
/// </summary>
public sealed class RolloutEnvironmentTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ApiFactory _app;
    private readonly HttpClient _http;

    public RolloutEnvironmentTests()
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

    private async Task<JsonElement> GetRolloutAsync(string id, string? environment = null) =>
        await (await _http.GetAsync($"/api/flags/{id}/rollout{(environment is null ? "" : $"?environment={environment}")}")).ReadJson();

    private async Task<JsonElement> GetFlagAsync(string id) => await (await _http.GetAsync($"/api/flags/{id}")).ReadJson();

    /// <summary>Minutes of traffic in <paramref name="environment"/> split as <paramref name="percentage"/> says; the guardian ticks after each.</summary>
    private async Task MinutesAsync(string id, int minutes, double percentage, string environment, double treatmentErrors)
    {
        for (var i = 0; i < minutes; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            var treatment = (long)(10_000 * percentage / 100);
            var at = _clock.GetUtcNow().AddSeconds(-1);
            var r = await _http.PostJson("/api/metrics", new object[]
            {
                new { flagId = id, environment, cohort = "treatment", errorRate = treatmentErrors, latencyP50 = 100 + i % 3, latencyP99 = 400 + i % 5, requestCount = treatment, timestamp = at },
                new { flagId = id, environment, cohort = "control", errorRate = 1.0, latencyP50 = 100 + i % 2, latencyP99 = 400 + i % 4, requestCount = 10_000 - treatment, timestamp = at },
            });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            await _app.Services.GetRequiredService<RolloutGuardian>().TickAsync();
        }
    }

    [Fact]
    public async Task AProductionRollout_IsNotDisturbedByTerribleStagingTraffic_ButIsRolledBackByItsOwn()
    {
        var id = (await (await _http.PostJson("/api/flags", new { name = "env-guarded", targetEnvironment = "production", autoRollback = true })).ReadJson())
            .GetProperty("id").GetString()!;
        var saved = await (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })).ReadJson();
        Assert.Equal("production", saved.GetProperty("plan").GetProperty("environment").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);

        // production healthy, staging's treatment failing a third of its requests, minute after minute
        for (var minute = 0; minute < 6; minute++)
        {
            await MinutesAsync(id, 1, 10, "staging", treatmentErrors: 30);
            await MinutesAsync(id, 1, 10, "production", treatmentErrors: 1);
        }

        var plan = (await GetRolloutAsync(id)).GetProperty("plan");
        Assert.Equal("running", plan.GetProperty("state").GetString());
        Assert.Equal(1, plan.GetProperty("currentStage").GetInt32()); // advanced on production's evidence
        var flag = await GetFlagAsync(id);
        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(50, flag.GetProperty("rolloutPercentage").GetDouble());
        var changes = (await (await _http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.DoesNotContain(changes, c => c.GetProperty("changeType").GetString() == "rolled_back");
        // staging's regression was seen, as staging's
        var anomalies = (await (await _http.GetAsync($"/api/anomalies?flagId={id}&status=all")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(anomalies);
        Assert.All(anomalies, a => Assert.Equal("staging", a.GetProperty("environment").GetString()));

        await MinutesAsync(id, 3, 50, "production", treatmentErrors: 4);
        Assert.Equal("rolled_back", (await GetRolloutAsync(id)).GetProperty("plan").GetProperty("state").GetString());
        flag = await GetFlagAsync(id);
        Assert.False(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, flag.GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task APlanOutsideTheHome_ChangesOnlyThatEnvironmentsConfiguration_AndAnUnknownOrMalformedEnvironmentIs400()
    {
        var id = (await (await _http.PostJson("/api/flags", new { name = "env-plan", targetEnvironment = "production" })).ReadJson()).GetProperty("id").GetString()!;

        var saved = await _http.PutAsJsonAsync($"/api/flags/{id}/rollout?environment=staging", new { stages = Stages });
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.Equal("staging", (await saved.ReadJson()).GetProperty("plan").GetProperty("environment").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync($"/api/flags/{id}/rollout/start?environment=staging&changedBy=alice", null)).StatusCode);

        // staging's configuration carries the first stage; production's (the home, the seed shape) is untouched
        var staging = await (await _http.GetAsync($"/api/flags/{id}/environments/staging")).ReadJson();
        Assert.True(staging.GetProperty("enabled").GetBoolean());
        Assert.Equal(10, staging.GetProperty("rolloutPercentage").GetDouble());
        var home = await GetFlagAsync(id);
        Assert.False(home.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, home.GetProperty("rolloutPercentage").GetDouble());
        var stagingPlan = (await GetRolloutAsync(id, "staging")).GetProperty("plan");
        Assert.Equal("running", stagingPlan.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/flags/{id}/rollout")).StatusCode);
        var logged = (await (await _http.GetAsync($"/api/flags/{id}/changes?environment=staging")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.Contains(logged, c => c.GetProperty("environment").GetString() == "staging" && c.GetProperty("changeType").GetString() == "enabled");

        var schedule = await (await _http.PostAsJsonAsync($"/api/flags/{id}/schedules?environment=staging", new { action = "disable", at = _clock.GetUtcNow().AddHours(1) })).ReadJson();
        Assert.Equal("staging", schedule.GetProperty("environment").GetString());

        // an environment nobody created configures no flag: 400 naming it, nothing planned
        var unknown = await _http.PutAsJsonAsync($"/api/flags/{id}/rollout?environment=qa", new { stages = Stages });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.True((await unknown.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));
        var unknownSchedule = await _http.PostAsJsonAsync($"/api/flags/{id}/schedules?environment=qa", new { action = "enable", at = _clock.GetUtcNow().AddHours(1) });
        Assert.Equal(HttpStatusCode.BadRequest, unknownSchedule.StatusCode);
        Assert.True((await unknownSchedule.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));

        var malformed = await _http.GetAsync($"/api/flags/{id}/rollout?environment=Not%20One");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.True((await malformed.ReadJson()).GetProperty("errors").TryGetProperty("environment", out _));

        // the home, named or not, is the plan the seed's routes always had
        Assert.Equal(HttpStatusCode.OK, (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout?environment=production", new { stages = Stages })).StatusCode);
        var homePlan = await GetRolloutAsync(id);
        Assert.Equal("production", homePlan.GetProperty("plan").GetProperty("environment").GetString());
        var scheduled = await (await _http.PostAsJsonAsync($"/api/flags/{id}/schedules", new { action = "enable", at = _clock.GetUtcNow().AddHours(1) })).ReadJson();
        Assert.Equal("production", scheduled.GetProperty("environment").GetString());
        Assert.Single((await (await _http.GetAsync($"/api/flags/{id}/schedules?environment=staging")).ReadJson()).GetProperty("items").EnumerateArray());
    }
}
