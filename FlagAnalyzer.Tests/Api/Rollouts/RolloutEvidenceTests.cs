using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Rollouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.Rollouts;

/// <summary>
/// Issue 29 on the real API with a fake clock: a plan's guardrails are validated and stored, a guardrail the application
/// never reports holds a plan only when the plan chose it, and a stage still short of evidence after its bound pauses
/// with the reason, published live as <c>rollout.updated</c>.
/// </summary>
public sealed class RolloutEvidenceTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly RolloutEvents _events = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _http;

    public RolloutEvidenceTests()
    {
        _app = new ApiFactory
        {
            ConfigureServices = s =>
            {
                s.AddSingleton<TimeProvider>(_clock);
                s.AddSingleton<ILiveEventSink>(_events);
            },
        };
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

    private async Task<JsonElement> GetRolloutAsync(string id) => await (await _http.GetAsync($"/api/flags/{id}/rollout")).ReadJson();

    /// <summary>A started plan with these guardrails (null: omitted, the default).</summary>
    private async Task<string> StartAsync(string name, string[]? guardrails)
    {
        var id = await CreateFlagAsync(name);
        object body = guardrails is null ? new { stages = Stages, changedBy = "alice" } : new { stages = Stages, guardrails, changedBy = "alice" };
        Assert.Equal(HttpStatusCode.OK, (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);
        return id;
    }

    /// <summary>Minutes of traffic that report errors and latencies but no conversion rate; the guardian ticks after each.</summary>
    private async Task MinutesAsync(string id, int minutes, double percentage)
    {
        for (var i = 0; i < minutes; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            var treatment = (long)(10_000 * percentage / 100);
            var at = _clock.GetUtcNow().AddSeconds(-1);
            var r = await _http.PostJson("/api/metrics", new object[]
            {
                new { flagId = id, cohort = "treatment", errorRate = 1.0, latencyP50 = 100 + i % 3, latencyP99 = 400 + i % 5, requestCount = treatment, timestamp = at },
                new { flagId = id, cohort = "control", errorRate = 1.0, latencyP50 = 100 + i % 2, latencyP99 = 400 + i % 4, requestCount = 10_000 - treatment, timestamp = at },
            });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            await _app.Services.GetRequiredService<RolloutGuardian>().TickAsync();
        }
    }

    [Fact]
    public async Task Guardrails_AreValidatedNamingTheField_StoredWithThePlan_AndShown()
    {
        var id = await CreateFlagAsync("rollout-guardrails");
        var bad = await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { guardrails = new[] { "error_rate", "latency_p98" }, evidenceWaitFactor = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        var errors = (await bad.ReadJson()).GetProperty("errors");
        Assert.Contains("latency_p99", errors.GetProperty("guardrails[1]")[0].GetString());
        Assert.True(errors.TryGetProperty("evidenceWaitFactor", out _));
        Assert.False(errors.TryGetProperty("guardrails[0]", out _));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { guardrails = Array.Empty<string>() })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"/api/flags/{id}/rollout")).StatusCode); // nothing half-written

        var saved = await (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout",
            new { guardrails = new[] { "error_rate", "conversion_rate" }, evidenceWaitFactor = 6 })).ReadJson();
        Assert.Equal(["error_rate", "conversion_rate"], saved.GetProperty("plan").GetProperty("guardrails").EnumerateArray().Select(g => g.GetString()));
        var read = (await GetRolloutAsync(id)).GetProperty("plan");
        Assert.Equal(["error_rate", "conversion_rate"], read.GetProperty("guardrails").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(6, read.GetProperty("evidenceWaitFactor").GetInt32());

        // omitted: the default, resolved in the evaluation
        var other = await CreateFlagAsync("rollout-default-guardrails");
        var plain = await (await _http.PutAsJsonAsync($"/api/flags/{other}/rollout", new { stages = Stages })).ReadJson();
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("plan").GetProperty("guardrails").ValueKind);
        Assert.Equal(["error_rate", "latency_p99"], plain.GetProperty("evaluation").GetProperty("guardrails").EnumerateArray().Select(g => g.GetString()));
    }

    [Fact]
    public async Task AGuardrailNeverReported_NotInThePlan_TheStageAdvancesOnItsComparison()
    {
        var id = await StartAsync("rollout-no-conversion-default", guardrails: null);
        await MinutesAsync(id, 5, 10);
        var plan = (await GetRolloutAsync(id)).GetProperty("plan");
        Assert.Equal(1, plan.GetProperty("currentStage").GetInt32());
        var reason = plan.GetProperty("reason").GetString()!;
        Assert.StartsWith("Advanced to stage 2 of 3", reason);
        Assert.Contains("error_rate 1 % → 1 % within threshold", reason);
        Assert.DoesNotContain("conversion_rate", reason);
    }

    [Fact]
    public async Task AGuardrailNeverReported_InThePlan_HoldsThenPausesAfterTheBound_AndTellsTheOwnerLive()
    {
        var id = await StartAsync("rollout-no-conversion-chosen", ["error_rate", "latency_p99", "conversion_rate"]);
        await MinutesAsync(id, 5, 10);
        var held = await GetRolloutAsync(id);
        Assert.Equal(0, held.GetProperty("plan").GetProperty("currentStage").GetInt32());
        var evaluation = held.GetProperty("evaluation");
        Assert.Equal("hold", evaluation.GetProperty("action").GetString());
        Assert.Contains("conversion_rate: no sample at this stage reports it yet", evaluation.GetProperty("reason").GetString());
        var waiting = evaluation.GetProperty("evidence").EnumerateArray().Where(e => !e.GetProperty("ready").GetBoolean()).ToList();
        Assert.Equal("conversion_rate", Assert.Single(waiting).GetProperty("metric").GetString());

        // the default bound: 4 × the stage's five minutes
        await MinutesAsync(id, 14, 10);
        Assert.Equal("running", (await GetRolloutAsync(id)).GetProperty("plan").GetProperty("state").GetString());
        await MinutesAsync(id, 1, 10);
        var paused = (await GetRolloutAsync(id)).GetProperty("plan");
        Assert.Equal("paused", paused.GetProperty("state").GetString());
        Assert.StartsWith("Paused at stage 1 of 3 (10 %): still short of evidence after 20m 0s (conversion_rate", paused.GetProperty("reason").GetString());

        // the owner hears of it now: the pause is a rollout.updated event with the state and the reason (the guardian's tick
        // publishes after its commit, and TickAsync returns only then)
        var live = _events.Of(id).Last();
        Assert.Equal(RolloutState.Paused, live.Plan.State);
        Assert.Equal(paused.GetProperty("reason").GetString(), live.Plan.Reason);
        Assert.Equal("alice", live.Plan.CreatedBy);
    }

    /// <summary>Every <c>rollout.updated</c> the API publishes, by flag.</summary>
    private sealed class RolloutEvents : ILiveEventSink
    {
        private readonly List<RolloutView> _views = [];

        public IReadOnlyList<RolloutView> Of(string flagId)
        {
            lock (_views) return _views.Where(v => v.FlagId == flagId).ToList();
        }

        public ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
        {
            if (e is { Type: LiveEventTypes.RolloutUpdated, Payload: RolloutView v })
                lock (_views) _views.Add(v);
            return ValueTask.CompletedTask;
        }
    }
}
