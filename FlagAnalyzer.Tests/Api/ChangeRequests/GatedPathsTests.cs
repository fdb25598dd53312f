using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Tests.Api.Access;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.ChangeRequests;

/// <summary>
/// Issue 27, the paths that skipped the gate: in a protected environment a person's rollout plan and actions and a
/// schedule wait for a second key, the guardian's rollback and an abort are safety actions the environment may exempt or
/// not, and a flagd import is refused unless an admin bypasses. Each approval applies once, against what it was made on.
/// </summary>
public sealed class GatedPathsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ApiFactory _app;
    private HttpClient _admin = null!;
    private HttpClient _editor = null!;
    private HttpClient _approver = null!;

    public GatedPathsTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<TimeProvider>(_clock), Settings = { ["Auth:WriteBurst"] = "100000" } };
        // the tests tick the guardian and fire schedules themselves
        _app.Settings["Rollouts:TickInterval"] = "1.00:00:00";
    }

    public async Task InitializeAsync()
    {
        _admin = _app.CreateClient();
        _editor = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor", name: "erin (editor)")).Secret);
        _approver = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor", name: "alex (approver)")).Secret);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private static readonly object[] Stages =
    [
        new { percentage = 10, minDurationSeconds = 300, minRequests = 1000 },
        new { percentage = 50, minDurationSeconds = 300, minRequests = 1000 },
        new { percentage = 100, minDurationSeconds = 0, minRequests = 0 },
    ];

    private static async Task<JsonElement> Expect(HttpStatusCode expected, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task ProtectAsync(string environment, params string[] exemptions) =>
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync($"/api/environments/{environment}",
            new { @protected = true, approvalExemptions = exemptions }, ApiFactory.JsonOptions));

    private static readonly string[] Every = ["kill_switch", "guardian_rollback", "rollout_abort"];

    private async Task<string> CreateFlagAsync(string name, bool autoRollback = false) =>
        (await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name, targetEnvironment = "production", autoRollback })))
        .GetProperty("id").GetString()!;

    private async Task<JsonElement> FlagAsync(string id) => await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}"));

    private async Task<JsonElement> PlanAsync(string id) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/rollout"))).GetProperty("plan");

    private async Task<List<JsonElement>> ChangesAsync(string id) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/changes"))).GetProperty("items").EnumerateArray().ToList();

    private async Task<List<JsonElement>> PendingAsync(string id) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/change-requests?state=pending&flagId={id}"))).GetProperty("items").EnumerateArray().ToList();

    private static string Held(JsonElement accepted) => accepted.GetProperty("changeRequest").GetProperty("id").GetString()!;

    private Task<HttpResponseMessage> Approve(string requestId, HttpClient? by = null) =>
        (by ?? _approver).PostAsync($"/api/change-requests/{requestId}/approve", null);

    /// <summary>A running plan at 10 %, started by the admin's logged bypass.</summary>
    private async Task<string> RunningAsync(string name)
    {
        var id = await CreateFlagAsync(name);
        await Expect(HttpStatusCode.OK, await _admin.PutAsJsonAsync($"/api/flags/{id}/rollout?bypass=true", new { stages = Stages }));
        await Expect(HttpStatusCode.OK, await _admin.PostAsync($"/api/flags/{id}/rollout/start?bypass=true", null));
        return id;
    }

    [Fact]
    public async Task RolloutPlanAndStart_InAProtectedEnvironment_AreHeld_AndEachApprovalAppliesOnce_NamingAuthorAndApprover()
    {
        var id = await CreateFlagAsync("gated-plan");
        await ProtectAsync("production", Every);

        var planRequest = Held(await Expect(HttpStatusCode.Accepted, await _editor.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })));
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync($"/api/flags/{id}/rollout")); // no plan while it waits
        await Expect(HttpStatusCode.Forbidden, await Approve(planRequest, by: _editor)); // four eyes
        Assert.Equal("applied", (await Expect(HttpStatusCode.OK, await Approve(planRequest))).GetProperty("state").GetString());
        Assert.Equal("pending", (await PlanAsync(id)).GetProperty("state").GetString());

        var startRequest = Held(await Expect(HttpStatusCode.Accepted, await _editor.PostAsync($"/api/flags/{id}/rollout/start?changedBy=erin", null)));
        var waiting = await FlagAsync(id);
        Assert.False(waiting.GetProperty("enabled").GetBoolean());
        Assert.Equal("pending", (await PlanAsync(id)).GetProperty("state").GetString());
        var request = await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/change-requests/{startRequest}"));
        Assert.Contains(request.GetProperty("diff").EnumerateArray(), d => d.GetProperty("field").GetString() == "rolloutPercentage" && d.GetProperty("to").GetDouble() == 10);

        await Expect(HttpStatusCode.Forbidden, await Approve(startRequest, by: _editor));
        _clock.Advance(TimeSpan.FromSeconds(1)); // the change log lists by time: its newest row is the approval's
        var applied = await Expect(HttpStatusCode.OK, await Approve(startRequest));
        Assert.Equal("applied", applied.GetProperty("state").GetString());
        Assert.Equal("running", (await PlanAsync(id)).GetProperty("state").GetString());
        var flag = await FlagAsync(id);
        Assert.Equal((true, 10.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble()));
        var row = (await ChangesAsync(id))[0];
        Assert.Equal(("erin (editor)", "alex (approver)"), (row.GetProperty("actorName").GetString(), row.GetProperty("approvedBy").GetString()));
        Assert.StartsWith("Rollout started by erin", row.GetProperty("reason").GetString());
        Assert.Equal(applied.GetProperty("appliedChangeId").GetString(), row.GetProperty("id").GetString());

        // applied once: a second approval is 409 and writes nothing
        var count = (await ChangesAsync(id)).Count;
        await Expect(HttpStatusCode.Conflict, await Approve(startRequest));
        Assert.Equal(count, (await ChangesAsync(id)).Count);
    }

    [Fact]
    public async Task HeldPromote_AfterThePlanMoved_IsConflicted_AndNothingApplied_WhilePauseIsNeverHeld()
    {
        var id = await RunningAsync("gated-promote");
        await ProtectAsync("production", Every);

        var promote = Held(await Expect(HttpStatusCode.Accepted, await _editor.PostAsync($"/api/flags/{id}/rollout/promote", null)));
        // a pause keeps traffic where it is: it applies at once, and moves the plan the promotion was made against
        Assert.Equal("paused", (await Expect(HttpStatusCode.OK, await _editor.PostAsync($"/api/flags/{id}/rollout/pause", null)))
            .GetProperty("plan").GetProperty("state").GetString());

        var problem = await Expect(HttpStatusCode.Conflict, await Approve(promote));
        Assert.Equal("conflicted", problem.GetProperty("state").GetString());
        Assert.Equal(10, (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(0, (await PlanAsync(id)).GetProperty("currentStage").GetInt32());
    }

    [Fact]
    public async Task HeldPlan_AfterAnotherPlanWasSaved_IsConflicted_AndTheOtherPlanStays()
    {
        var id = await CreateFlagAsync("gated-plan-moved");
        await ProtectAsync("production", Every);
        var request = Held(await Expect(HttpStatusCode.Accepted, await _editor.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })));
        var other = new object[] { new { percentage = 20, minDurationSeconds = 60, minRequests = 100 }, new { percentage = 100, minDurationSeconds = 0, minRequests = 0 } };
        await Expect(HttpStatusCode.OK, await _admin.PutAsJsonAsync($"/api/flags/{id}/rollout?bypass=true", new { stages = other }));

        Assert.Equal("conflicted", (await Expect(HttpStatusCode.Conflict, await Approve(request))).GetProperty("state").GetString());
        var plan = await PlanAsync(id);
        Assert.Equal((1, 20.0), (plan.GetProperty("version").GetInt32(), plan.GetProperty("stages")[0].GetProperty("percentage").GetDouble()));
    }

    [Fact]
    public async Task Abort_AppliesDirectly_WhenTheEnvironmentExemptsRolloutAbort_AndIsHeld_WhenItDoesNot()
    {
        var exempt = await RunningAsync("abort-exempt");
        var held = await RunningAsync("abort-held");

        await ProtectAsync("production", Every);
        Assert.Equal("aborted", (await Expect(HttpStatusCode.OK, await _editor.PostAsync($"/api/flags/{exempt}/rollout/abort", null)))
            .GetProperty("plan").GetProperty("state").GetString());
        Assert.False((await FlagAsync(exempt)).GetProperty("enabled").GetBoolean());

        await ProtectAsync("production", "kill_switch", "guardian_rollback");
        var environment = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/production"));
        Assert.Equal(["kill_switch", "guardian_rollback"], environment.GetProperty("approvalExemptions").EnumerateArray().Select(e => e.GetString()));
        var request = Held(await Expect(HttpStatusCode.Accepted, await _editor.PostAsync($"/api/flags/{held}/rollout/abort", null)));
        Assert.True((await FlagAsync(held)).GetProperty("enabled").GetBoolean());
        Assert.Equal("running", (await PlanAsync(held)).GetProperty("state").GetString());

        await Expect(HttpStatusCode.OK, await Approve(request));
        Assert.Equal("aborted", (await PlanAsync(held)).GetProperty("state").GetString());
        var flag = await FlagAsync(held);
        Assert.Equal((false, 0.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble()));
    }

    [Fact]
    public async Task AdminBypass_OnARolloutAction_AppliesAndIsLogged_AnEditorsBypass_Is403_AndAnAdminWithoutIt_IsHeld()
    {
        var id = await CreateFlagAsync("bypass-rollout");
        await ProtectAsync("production", Every);
        Held(await Expect(HttpStatusCode.Accepted, await _admin.PutAsJsonAsync($"/api/flags/{id}/rollout", new { stages = Stages })));
        await Expect(HttpStatusCode.Forbidden, await _editor.PutAsJsonAsync($"/api/flags/{id}/rollout?bypass=true", new { stages = Stages }));
        await Expect(HttpStatusCode.OK, await _admin.PutAsJsonAsync($"/api/flags/{id}/rollout?bypass=true", new { stages = Stages }));
        await Expect(HttpStatusCode.Forbidden, await _editor.PostAsync($"/api/flags/{id}/rollout/start?bypass=true", null));
        Assert.False((await FlagAsync(id)).GetProperty("enabled").GetBoolean());

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Expect(HttpStatusCode.OK, await _admin.PostAsync($"/api/flags/{id}/rollout/start?bypass=true", null));
        var row = (await ChangesAsync(id))[0];
        Assert.EndsWith("(bypass)", row.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("approvedBy").ValueKind);
    }

    [Fact]
    public async Task Schedule_InAProtectedEnvironment_IsHeld_StoredOnApproval_ThenFiresWithoutASecondApproval()
    {
        var id = await CreateFlagAsync("gated-schedule");
        await ProtectAsync("production", Every);
        var at = _clock.GetUtcNow().AddMinutes(10);
        var request = Held(await Expect(HttpStatusCode.Accepted, await _editor.PostJson($"/api/flags/{id}/schedules",
            new { action = "set_rollout", rolloutPercentage = 40, at, changedBy = "erin" })));
        Assert.Empty((await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/schedules"))).GetProperty("items").EnumerateArray());

        await Expect(HttpStatusCode.Forbidden, await Approve(request, by: _editor));
        await Expect(HttpStatusCode.OK, await Approve(request));
        var stored = Assert.Single((await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/schedules"))).GetProperty("items").EnumerateArray());
        Assert.Equal("erin", stored.GetProperty("createdBy").GetString());
        Assert.Equal($"change request {request} approved by alex (approver)", stored.GetProperty("approval").GetString());

        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, await _app.Services.GetRequiredService<ScheduleService>().FireDueAsync(default));
        Assert.Equal(40, (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());
        Assert.Empty(await PendingAsync(id)); // fired as approved: no second request
        Assert.Equal(0, await _app.Services.GetRequiredService<ScheduleService>().FireDueAsync(default)); // once
    }

    [Fact]
    public async Task ScheduleStoredWhileTheEnvironmentWasOpen_DoesNotFire_OnceItIsProtected_AndSaysWhy()
    {
        var id = await CreateFlagAsync("open-then-protected");
        var stored = await Expect(HttpStatusCode.Created, await _editor.PostJson($"/api/flags/{id}/schedules",
            new { action = "set_rollout", rolloutPercentage = 40, at = _clock.GetUtcNow().AddMinutes(10), changedBy = "erin" }));
        Assert.Equal(JsonValueKind.Null, stored.GetProperty("approval").ValueKind); // nobody had to approve it: production was open
        var before = (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble();
        await ProtectAsync("production", Every);

        _clock.Advance(TimeSpan.FromMinutes(10));
        await _app.Services.GetRequiredService<ScheduleService>().FireDueAsync(default);

        Assert.Equal(before, (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble()); // pre-scheduling is no way past the approval
        var fired = Assert.Single((await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/schedules"))).GetProperty("items").EnumerateArray());
        Assert.StartsWith("skipped: 'production' became protected after this was scheduled", fired.GetProperty("outcome").GetString());
        Assert.Equal(0, await _app.Services.GetRequiredService<ScheduleService>().FireDueAsync(default)); // and it is done
    }

    [Fact]
    public async Task AdminsBypassedSchedule_SaysSoOnTheSchedule_AndFires()
    {
        var id = await CreateFlagAsync("bypassed-schedule");
        await ProtectAsync("production", Every);
        var stored = await Expect(HttpStatusCode.Created, await _admin.PostJson($"/api/flags/{id}/schedules?bypass=true",
            new { action = "set_rollout", rolloutPercentage = 30, at = _clock.GetUtcNow().AddMinutes(10) }));
        Assert.StartsWith("bypass by ", stored.GetProperty("approval").GetString());

        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, await _app.Services.GetRequiredService<ScheduleService>().FireDueAsync(default));
        Assert.Equal(30, (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task HeldSchedule_ApprovedAfterItsTime_IsConflicted_AndNothingScheduled()
    {
        var id = await CreateFlagAsync("late-schedule");
        await ProtectAsync("production", Every);
        var request = Held(await Expect(HttpStatusCode.Accepted, await _editor.PostJson($"/api/flags/{id}/schedules",
            new { action = "enable", at = _clock.GetUtcNow().AddMinutes(5) })));
        _clock.Advance(TimeSpan.FromMinutes(7));
        Assert.Equal("conflicted", (await Expect(HttpStatusCode.Conflict, await Approve(request))).GetProperty("state").GetString());
        Assert.Empty((await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/schedules"))).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Import_IntoAProtectedEnvironment_Is403NamingIt_UnlessAnAdminBypasses_WhichTheChangeRowSays()
    {
        await ProtectAsync("production", Every);
        const string file = """{"flags": {"imported-gate": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}}""";
        var refused = await Expect(HttpStatusCode.Forbidden, await _editor.PostRaw("/api/flags/import?environment=production", file));
        Assert.Contains("'production' is protected", refused.GetProperty("detail").GetString());
        Assert.Contains("bypass=true", refused.GetProperty("detail").GetString());
        await Expect(HttpStatusCode.Forbidden, await _admin.PostRaw("/api/flags/import?environment=production", file));
        await Expect(HttpStatusCode.Forbidden, await _editor.PostRaw("/api/flags/import?environment=production&bypass=true", file));
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/flags/imported-gate"));

        await Expect(HttpStatusCode.OK, await _admin.PostRaw("/api/flags/import?environment=production&bypass=true", file));
        Assert.Equal("imported; bypass", (await ChangesAsync("imported-gate"))[0].GetProperty("reason").GetString());
        await Expect(HttpStatusCode.OK, await _editor.PostRaw("/api/flags/import?environment=staging", file.Replace("imported-gate", "staging-only")));
    }

    [Fact]
    public async Task KillSwitch_OnAConfiguration_IsDirectWithTheExemption_AndHeldWithout()
    {
        var id = (await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name = "kill-config", targetEnvironment = "staging" })))
            .GetProperty("id").GetString()!;
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync($"/api/flags/{id}/environments/production", new { enabled = true, rolloutPercentage = 20 }, ApiFactory.JsonOptions));
        await ProtectAsync("production", Every);
        await Expect(HttpStatusCode.OK, await _editor.PatchAsJsonAsync($"/api/flags/{id}/environments/production", new { enabled = false }, ApiFactory.JsonOptions));
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync($"/api/flags/{id}/environments/production?bypass=true", new { enabled = true }, ApiFactory.JsonOptions));

        await ProtectAsync("production", "guardian_rollback", "rollout_abort");
        await Expect(HttpStatusCode.Accepted, await _editor.PatchAsJsonAsync($"/api/flags/{id}/environments/production", new { enabled = false }, ApiFactory.JsonOptions));
        Assert.True((await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/environments/production"))).GetProperty("enabled").GetBoolean());
    }

    /// <summary>One minute of cohort traffic split as <paramref name="percentage"/> says, then a guardian pass.</summary>
    private async Task MinutesAsync(string id, int minutes, double percentage, double treatmentErrors = 1)
    {
        for (var i = 0; i < minutes; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            var treatment = (long)(10_000 * percentage / 100);
            var at = _clock.GetUtcNow().AddSeconds(-1);
            await Expect(HttpStatusCode.OK, await _admin.PostJson("/api/metrics", new object[]
            {
                new { flagId = id, cohort = "treatment", errorRate = treatmentErrors, latencyP50 = 100 + i % 3, latencyP99 = 400 + i % 5, requestCount = treatment, timestamp = at },
                new { flagId = id, cohort = "control", errorRate = 1.0, latencyP50 = 100 + i % 2, latencyP99 = 400 + i % 4, requestCount = 10_000 - treatment, timestamp = at },
            }));
            await _app.Services.GetRequiredService<RolloutGuardian>().TickAsync();
        }
    }

    [Fact]
    public async Task GuardianRollback_NotExempt_PausesThePlanAtItsStage_OpensOneRequest_AndTheApprovalRollsBack()
    {
        var id = await RunningAsync("guardian-held");
        await ProtectAsync("production", "kill_switch", "rollout_abort");
        await MinutesAsync(id, 5, 10);
        Assert.Equal(50, (await FlagAsync(id)).GetProperty("rolloutPercentage").GetDouble()); // the guardian's own advance is never held

        await MinutesAsync(id, 4, 50, treatmentErrors: 4);
        var plan = await PlanAsync(id);
        Assert.Equal("paused", plan.GetProperty("state").GetString());
        var flag = await FlagAsync(id);
        Assert.Equal((true, 50.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble())); // traffic stays
        Assert.DoesNotContain(await ChangesAsync(id), c => c.GetProperty("changeType").GetString() == "rolled_back");
        var request = Assert.Single(await PendingAsync(id));
        Assert.Equal("guardian", request.GetProperty("author").GetProperty("name").GetString());

        await MinutesAsync(id, 2, 50, treatmentErrors: 4);
        Assert.Single(await PendingAsync(id)); // one request, however long the regression lasts

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Expect(HttpStatusCode.OK, await Approve(request.GetProperty("id").GetString()!));
        Assert.Equal("rolled_back", (await PlanAsync(id)).GetProperty("state").GetString());
        flag = await FlagAsync(id);
        Assert.Equal((false, 0.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble()));
        var row = (await ChangesAsync(id))[0];
        Assert.Equal(("rolled_back", "guardian", "alex (approver)"),
            (row.GetProperty("changeType").GetString(), row.GetProperty("changedBy").GetString(), row.GetProperty("approvedBy").GetString()));
    }

    [Fact]
    public async Task GuardianRollback_Exempt_RollsBackAtOnce_WithNoRequest()
    {
        var id = await RunningAsync("guardian-exempt");
        await ProtectAsync("production", Every);
        await MinutesAsync(id, 5, 10);
        await MinutesAsync(id, 4, 50, treatmentErrors: 4);
        Assert.Equal("rolled_back", (await PlanAsync(id)).GetProperty("state").GetString());
        Assert.Empty(await PendingAsync(id));
    }
}
