using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Api.ChangeRequests;

/// <summary>
/// Issue 27 item 1: in a protected environment an editor's change waits for a second key (four eyes) — every state
/// (pending → applied | rejected | cancelled | conflicted) and every refusal, the safety actions that apply directly,
/// the admin's logged bypass, and the change row naming author and approver.
/// </summary>
public sealed class ChangeRequestsApiTests : IAsyncLifetime
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };
    private HttpClient _admin = null!;
    private HttpClient _editor = null!;
    private HttpClient _approver = null!;
    private HttpClient _viewer = null!;
    private HttpClient _stagingEditor = null!;
    private AccessHarness.TestKey _editorKey = null!;

    public async Task InitializeAsync()
    {
        _admin = _app.CreateClient();
        _editorKey = await _admin.CreateKeyAsync("editor", name: "erin (editor)");
        _editor = _app.CreateClient().WithKey(_editorKey.Secret);
        _approver = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor", name: "alex (approver)")).Secret);
        _viewer = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("viewer", name: "vic (viewer)")).Secret);
        _stagingEditor = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor", environment: "staging", name: "sam (staging)")).Secret);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<JsonElement> Expect(HttpStatusCode expected, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> Patch(HttpClient client, string url, object body) =>
        client.PatchAsJsonAsync(url, body, ApiFactory.JsonOptions);

    private async Task ProtectAsync(string environment, bool on = true) =>
        Assert.Equal(on, (await Expect(HttpStatusCode.OK, await Patch(_admin, $"/api/environments/{environment}", new { @protected = on })))
            .GetProperty("protected").GetBoolean());

    private async Task<JsonElement> CreateFlagAsync(string name, string environment = "production", bool enabled = false) =>
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name, targetEnvironment = environment, enabled, rolloutPercentage = 10 }));

    private async Task<JsonElement> FlagAsync(string name) => await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{name}"));

    /// <summary>An editor's held change: 202 with the pending request.</summary>
    private async Task<JsonElement> RequestAsync(string flag, object patch, HttpClient? author = null)
    {
        var held = await Expect(HttpStatusCode.Accepted, await Patch(author ?? _editor, $"/api/flags/{flag}", patch));
        return held.GetProperty("changeRequest");
    }

    private async Task<List<JsonElement>> ChangesAsync(string flag) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{flag}/changes"))).GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task ConfigurationPatchAndPromotion_IntoAProtectedEnvironment_AreHeld_AndTheApprovalAppliesThatConfigurationOnly()
    {
        // a staging-homed flag, protected production: production is one of its configurations, not its home
        var flag = await CreateFlagAsync("cr-config", "staging", enabled: true);
        var id = flag.GetProperty("id").GetString()!;
        await ProtectAsync("production");

        var held = (await Expect(HttpStatusCode.Accepted, await Patch(_editor, $"/api/flags/{id}/environments/production",
            new { enabled = true, rolloutPercentage = 25 }))).GetProperty("changeRequest");
        Assert.Equal(("pending", "production"), (held.GetProperty("state").GetString(), held.GetProperty("environment").GetString()));
        var production = await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/environments/production"));
        Assert.False(production.GetProperty("enabled").GetBoolean()); // nothing applied while it waits
        await Expect(HttpStatusCode.Accepted, await _editor.PostJson($"/api/flags/{id}/environments/production/promote", new { from = "staging" }));

        // four eyes on the configuration too, then the approval writes production's configuration and logs who approved
        await Expect(HttpStatusCode.Forbidden, await _editor.PostAsync($"/api/change-requests/{held.GetProperty("id").GetString()}/approve", null));
        var applied = await Expect(HttpStatusCode.OK, await _approver.PostAsync($"/api/change-requests/{held.GetProperty("id").GetString()}/approve", null));
        Assert.Equal("applied", applied.GetProperty("state").GetString());
        production = await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/environments/production"));
        Assert.Equal((true, 25.0), (production.GetProperty("enabled").GetBoolean(), production.GetProperty("rolloutPercentage").GetDouble()));
        var home = await FlagAsync(id);
        Assert.Equal(10, home.GetProperty("rolloutPercentage").GetDouble()); // staging, the home, untouched
        var row = (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}/changes?environment=production"))).GetProperty("items")
            .EnumerateArray().First();
        Assert.Equal(("production", "erin (editor)", "alex (approver)"),
            (row.GetProperty("environment").GetString(), row.GetProperty("actorName").GetString(), row.GetProperty("approvedBy").GetString()));
    }

    [Fact]
    public async Task ProtectedFlag_IsShownAndChangedByAdminOnly_AndExemptionsDefaultToEverySafetyAction()
    {
        var production = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/production"));
        Assert.False(production.GetProperty("protected").GetBoolean());
        Assert.Equal(["kill_switch", "guardian_rollback", "rollout_abort"],
            production.GetProperty("approvalExemptions").EnumerateArray().Select(e => e.GetString()));
        await Expect(HttpStatusCode.Forbidden, await Patch(_editor, "/api/environments/production", new { @protected = true }));
        await ProtectAsync("production");
        Assert.True((await Expect(HttpStatusCode.OK, await _viewer.GetAsync("/api/environments/production"))).GetProperty("protected").GetBoolean());

        var bad = await Expect(HttpStatusCode.BadRequest, await Patch(_admin, "/api/environments/production", new { approvalExemptions = new[] { "everything" } }));
        Assert.True(bad.GetProperty("errors").TryGetProperty("approvalExemptions", out _), bad.ToString());
    }

    [Fact]
    public async Task EditorChange_InAProtectedEnvironment_Is202Pending_AndNotApplied_ThenAnotherKeyApproves_AndTheRowNamesBoth()
    {
        await CreateFlagAsync("checkout");
        await ProtectAsync("production");
        var before = await FlagAsync("checkout");

        var request = await RequestAsync("checkout", new { rolloutPercentage = 50 });
        Assert.Equal("pending", request.GetProperty("state").GetString());
        Assert.Equal("production", request.GetProperty("environment").GetString());
        Assert.Equal("checkout", request.GetProperty("flag").GetProperty("name").GetString());
        Assert.Equal("erin (editor)", request.GetProperty("author").GetProperty("name").GetString());
        Assert.True(request.TryGetProperty("createdAt", out _));
        var diff = Assert.Single(request.GetProperty("diff").EnumerateArray());
        Assert.Equal("rolloutPercentage", diff.GetProperty("field").GetString());
        Assert.Equal(10, diff.GetProperty("from").GetDouble());
        Assert.Equal(50, diff.GetProperty("to").GetDouble());

        // not applied: the flag and its log are as they were
        var unchanged = await FlagAsync("checkout");
        Assert.Equal(10, unchanged.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(before.GetProperty("version").GetInt64(), unchanged.GetProperty("version").GetInt64());
        Assert.Single(await ChangesAsync("checkout"));

        var id = request.GetProperty("id").GetString()!;
        var listed = await Expect(HttpStatusCode.OK, await _viewer.GetAsync("/api/change-requests?state=pending&environment=production"));
        Assert.Equal(id, Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());

        var approved = await Expect(HttpStatusCode.OK, await _approver.PostAsync($"/api/change-requests/{id}/approve", null));
        Assert.Equal("applied", approved.GetProperty("state").GetString());
        Assert.Equal("alex (approver)", approved.GetProperty("decidedBy").GetProperty("name").GetString());
        Assert.Equal(50, (await FlagAsync("checkout")).GetProperty("rolloutPercentage").GetDouble());

        var row = (await ChangesAsync("checkout"))[0];
        Assert.Equal("rollout_changed", row.GetProperty("changeType").GetString());
        Assert.Equal("erin (editor)", row.GetProperty("actorName").GetString());
        Assert.Equal("alex (approver)", row.GetProperty("approvedBy").GetString());
        Assert.Equal(approved.GetProperty("appliedChangeId").GetString(), row.GetProperty("id").GetString());

        // decided once: a second decision of any kind is 409
        await Expect(HttpStatusCode.Conflict, await _approver.PostAsync($"/api/change-requests/{id}/approve", null));
        await Expect(HttpStatusCode.Conflict, await _approver.PostJson($"/api/change-requests/{id}/reject", new { comment = "late" }));
    }

    [Fact]
    public async Task RecordedChange_InAProtectedEnvironment_IsHeldToo()
    {
        await CreateFlagAsync("seed-call");
        await ProtectAsync("production");
        var held = await Expect(HttpStatusCode.Accepted, await _editor.PostJson("/api/flags/change",
            new { flagName = "seed-call", changeType = "enabled", newValue = new { enabled = true } }));
        Assert.Equal("pending", held.GetProperty("changeRequest").GetProperty("state").GetString());
        Assert.False((await FlagAsync("seed-call")).GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task UnprotectedEnvironment_AppliesAtOnce()
    {
        await CreateFlagAsync("free", environment: "staging");
        await ProtectAsync("production");
        var flag = await Expect(HttpStatusCode.OK, await Patch(_editor, "/api/flags/free", new { rolloutPercentage = 30 }));
        Assert.Equal(30, flag.GetProperty("rolloutPercentage").GetDouble());
        Assert.Empty((await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/change-requests"))).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task AuthorApproving_Is403_ViewerApproving_Is403_AndAKeyScopedElsewhere_Gets404()
    {
        await CreateFlagAsync("four-eyes");
        await ProtectAsync("production");
        var id = (await RequestAsync("four-eyes", new { rolloutPercentage = 20 })).GetProperty("id").GetString()!;

        await Expect(HttpStatusCode.Forbidden, await _editor.PostAsync($"/api/change-requests/{id}/approve", null));
        await Expect(HttpStatusCode.Forbidden, await _viewer.PostAsync($"/api/change-requests/{id}/approve", null));
        await Expect(HttpStatusCode.NotFound, await _stagingEditor.PostAsync($"/api/change-requests/{id}/approve", null));
        await Expect(HttpStatusCode.NotFound, await _stagingEditor.GetAsync($"/api/change-requests/{id}"));
        Assert.Empty((await Expect(HttpStatusCode.OK, await _stagingEditor.GetAsync("/api/change-requests"))).GetProperty("items").EnumerateArray());
        await Expect(HttpStatusCode.NotFound, await _approver.PostAsync("/api/change-requests/cr_00000000000000000000000000/approve", null));

        // still pending and unapplied after every refusal
        Assert.Equal("pending", (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/change-requests/{id}"))).GetProperty("state").GetString());
        Assert.Equal(10, (await FlagAsync("four-eyes")).GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task FlagMovedSinceTheRequest_ApprovalIs409_RequestConflicted_AndNothingApplied()
    {
        await CreateFlagAsync("moving");
        await ProtectAsync("production");
        var id = (await RequestAsync("moving", new { rolloutPercentage = 40 })).GetProperty("id").GetString()!;
        // the flag moves meanwhile (an admin's logged bypass)
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/moving?bypass=true", new { description = "moved" }));
        var version = (await FlagAsync("moving")).GetProperty("version").GetInt64();

        var problem = await Expect(HttpStatusCode.Conflict, await _approver.PostAsync($"/api/change-requests/{id}/approve", null));
        Assert.Equal("conflicted", problem.GetProperty("state").GetString());
        Assert.Equal("conflicted", (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/change-requests/{id}"))).GetProperty("state").GetString());
        var flag = await FlagAsync("moving");
        Assert.Equal(10, flag.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(version, flag.GetProperty("version").GetInt64());
        await Expect(HttpStatusCode.Conflict, await _approver.PostAsync($"/api/change-requests/{id}/approve", null));
    }

    [Fact]
    public async Task Reject_KeepsTheFlag_WithTheComment_AndCancel_IsTheAuthorsOnly()
    {
        await CreateFlagAsync("decisions");
        await ProtectAsync("production");
        var rejectMe = (await RequestAsync("decisions", new { rolloutPercentage = 60 })).GetProperty("id").GetString()!;
        var rejected = await Expect(HttpStatusCode.OK, await _approver.PostJson($"/api/change-requests/{rejectMe}/reject", new { comment = "not during the sale" }));
        Assert.Equal("rejected", rejected.GetProperty("state").GetString());
        Assert.Equal("not during the sale", rejected.GetProperty("comment").GetString());

        var cancelMe = (await RequestAsync("decisions", new { rolloutPercentage = 70 })).GetProperty("id").GetString()!;
        await Expect(HttpStatusCode.Forbidden, await _approver.PostAsync($"/api/change-requests/{cancelMe}/cancel", null));
        Assert.Equal("cancelled", (await Expect(HttpStatusCode.OK, await _editor.PostAsync($"/api/change-requests/{cancelMe}/cancel", null)))
            .GetProperty("state").GetString());
        await Expect(HttpStatusCode.Conflict, await _approver.PostAsync($"/api/change-requests/{cancelMe}/approve", null));

        Assert.Equal(10, (await FlagAsync("decisions")).GetProperty("rolloutPercentage").GetDouble());
        Assert.Single(await ChangesAsync("decisions"));
        var states = (await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/change-requests?environment=production"))).GetProperty("items")
            .EnumerateArray().Select(r => r.GetProperty("state").GetString()).Order().ToList();
        Assert.Equal(["cancelled", "rejected"], states);
    }

    [Fact]
    public async Task AdminBypass_AppliesDirectly_AndIsLogged_ButAnAdminWithoutIt_IsHeld_AndAnEditorsBypass_Is403()
    {
        await CreateFlagAsync("bypassed");
        await ProtectAsync("production");
        await RequestAsync("bypassed", new { rolloutPercentage = 15 }, author: _admin);
        await Expect(HttpStatusCode.Forbidden, await Patch(_editor, "/api/flags/bypassed?bypass=true", new { rolloutPercentage = 25 }));

        var flag = await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/bypassed?bypass=true", new { rolloutPercentage = 35 }));
        Assert.Equal(35, flag.GetProperty("rolloutPercentage").GetDouble());
        var row = (await ChangesAsync("bypassed"))[0];
        Assert.Equal("bypass", row.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("approvedBy").ValueKind);
    }

    [Fact]
    public async Task KillSwitch_InAProtectedEnvironment_AppliesDirectly_UnlessTheEnvironmentTakesTheExemptionAway()
    {
        await CreateFlagAsync("kill-me", enabled: true);
        await ProtectAsync("production");
        var off = await Expect(HttpStatusCode.OK, await Patch(_editor, "/api/flags/kill-me", new { enabled = false }));
        Assert.False(off.GetProperty("enabled").GetBoolean());
        Assert.Equal("disabled", (await ChangesAsync("kill-me"))[0].GetProperty("changeType").GetString());

        // turning it back on is not a safety action; disabling together with another change is not one either
        await RequestAsync("kill-me", new { enabled = true });
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/kill-me?bypass=true", new { enabled = true }));
        await RequestAsync("kill-me", new { enabled = false, rolloutPercentage = 0 });

        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/environments/production",
            new { approvalExemptions = new[] { "guardian_rollback", "rollout_abort" } }));
        await RequestAsync("kill-me", new { enabled = false });
        Assert.True((await FlagAsync("kill-me")).GetProperty("enabled").GetBoolean());
    }
}

/// <summary>The guardian acts on its own in a protected environment: its rollback is a safety action and needs no approval.</summary>
public sealed class ChangeRequestGuardianTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ApiFactory _app;
    private readonly AnalysisClient _api;

    public ChangeRequestGuardianTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<TimeProvider>(_clock) };
        _app.Settings["Rollouts:TickInterval"] = "1.00:00:00";
        _api = new AnalysisClient(_app.CreateClient());
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task GuardianRollback_InAProtectedEnvironment_IsAppliedDirectly()
    {
        var id = await _api.CreateFlagAsync("guarded", autoRollback: true, environment: "production");
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PutAsJsonAsync($"/api/flags/{id}/rollout", new
        {
            stages = new object[] { new { percentage = 10, minDurationSeconds = 300, minRequests = 1000 }, new { percentage = 100, minDurationSeconds = 0, minRequests = 0 } },
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PatchAsJsonAsync("/api/environments/production", new { @protected = true })).StatusCode);

        await _api.SendCohortsAsync(id, 5, control: (1, 9000), treatment: (3, 1000));

        var changes = (await (await _api.Http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        var rollback = Assert.Single(changes, c => c.GetProperty("changeType").GetString() == "rolled_back");
        Assert.Equal(RolloutService.Guardian, rollback.GetProperty("changedBy").GetString());
        Assert.Empty((await (await _api.Http.GetAsync("/api/change-requests")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task GuardianRollbackOnDetection_NotExempt_PausesThePlan_HoldsOneRequest_AndTheApprovalRollsBack()
    {
        var id = await _api.CreateFlagAsync("guarded-held", autoRollback: true, environment: "production");
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PutAsJsonAsync($"/api/flags/{id}/rollout", new
        {
            stages = new object[] { new { percentage = 10, minDurationSeconds = 300, minRequests = 1000 }, new { percentage = 100, minDurationSeconds = 0, minRequests = 0 } },
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/flags/{id}/rollout/start?changedBy=alice", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PatchAsJsonAsync("/api/environments/production",
            new { @protected = true, approvalExemptions = new[] { "kill_switch", "rollout_abort" } })).StatusCode);

        await _api.SendCohortsAsync(id, 5, control: (1, 9000), treatment: (3, 1000));
        await _api.SendCohortsAsync(id, 5, control: (1, 9000), treatment: (3, 1000));

        var changes = (await (await _api.Http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.DoesNotContain(changes, c => c.GetProperty("changeType").GetString() == "rolled_back");
        var flag = await (await _api.Http.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.Equal((true, 10.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble()));
        Assert.Equal("paused", (await (await _api.Http.GetAsync($"/api/flags/{id}/rollout")).ReadJson()).GetProperty("plan").GetProperty("state").GetString());
        var pending = (await (await _api.Http.GetAsync("/api/change-requests?state=pending")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        var request = Assert.Single(pending);
        Assert.Equal(RolloutService.Guardian, request.GetProperty("author").GetProperty("name").GetString());

        Assert.Equal(HttpStatusCode.OK, (await _api.Http.PostAsync($"/api/change-requests/{request.GetProperty("id").GetString()}/approve", null)).StatusCode);
        flag = await (await _api.Http.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.Equal((false, 0.0), (flag.GetProperty("enabled").GetBoolean(), flag.GetProperty("rolloutPercentage").GetDouble()));
        Assert.Equal("rolled_back", (await (await _api.Http.GetAsync($"/api/flags/{id}/rollout")).ReadJson()).GetProperty("plan").GetProperty("state").GetString());
        var rollback = Assert.Single((await (await _api.Http.GetAsync($"/api/flags/{id}/changes")).ReadJson()).GetProperty("items").EnumerateArray(),
            c => c.GetProperty("changeType").GetString() == "rolled_back");
        Assert.Equal(RolloutService.Guardian, rollback.GetProperty("changedBy").GetString());
        Assert.False(rollback.GetProperty("approvedBy").ValueKind == JsonValueKind.Null);
    }
}
