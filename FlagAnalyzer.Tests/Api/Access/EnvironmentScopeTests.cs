using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>
/// Issue 23's findings, one test each: a key scoped to <c>staging</c> reached <c>production</c> flags everywhere the
/// request did not name the environment in its query or route. Each test acts with a real staging key on a production
/// flag and checks, with the admin key, that nothing changed.
/// </summary>
public sealed class EnvironmentScopeTests : IAsyncLifetime
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };
    private HttpClient _admin = null!;
    private HttpClient _editor = null!;
    private HttpClient _viewer = null!;
    private HttpClient _ingest = null!;

    public async Task InitializeAsync()
    {
        _admin = _app.CreateClient();
        _editor = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor", "staging")).Secret);
        _viewer = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("viewer", "staging")).Secret);
        _ingest = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("ingest", "staging")).Secret);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonElement> FlagAsync(string name, string environment, bool enabled = true, double rollout = 50) =>
        await (await _admin.PostJson("/api/flags", new { name, targetEnvironment = environment, enabled, rolloutPercentage = rollout })).ReadAs<JsonElement>();

    private async Task<JsonElement> AsAdminAsync(string id) => await (await _admin.GetAsync($"/api/flags/{id}")).ReadAs<JsonElement>();

    private static async Task AssertStatus(HttpStatusCode expected, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
    }

    [Fact]
    public async Task StagingEditor_PatchingAProductionFlag_Is404_AndTheFlagIsUnchanged()
    {
        var prod = await FlagAsync("scope-patch", "production");
        var id = prod.GetProperty("id").GetString()!;

        await AssertStatus(HttpStatusCode.NotFound, await _editor.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = false }));
        await AssertStatus(HttpStatusCode.NotFound, await _editor.PatchAsJsonAsync("/api/flags/scope-patch", new { enabled = false }));

        var after = await AsAdminAsync(id);
        Assert.True(after.GetProperty("enabled").GetBoolean());
        Assert.Equal(1, after.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task StagingEditor_DeletingAProductionFlag_Is404_AndTheFlagStays()
    {
        var id = (await FlagAsync("scope-delete", "production")).GetProperty("id").GetString()!;

        await AssertStatus(HttpStatusCode.NotFound, await _editor.DeleteAsync($"/api/flags/{id}"));

        await AssertStatus(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{id}"));
    }

    [Fact]
    public async Task StagingEditor_CreatingAProductionFlag_Is403_AndNothingIsCreated()
    {
        var response = await _editor.PostJson("/api/flags", new { name = "scope-create", targetEnvironment = "production" });

        await AssertStatus(HttpStatusCode.Forbidden, response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertStatus(HttpStatusCode.NotFound, await _admin.GetAsync("/api/flags/scope-create"));
    }

    [Fact]
    public async Task StagingEditor_CreatingWithoutAnEnvironment_CreatesInStaging()
    {
        var created = await (await _editor.PostJson("/api/flags", new { name = "scope-create-default" })).ReadAs<JsonElement>();

        Assert.Equal("staging", created.GetProperty("targetEnvironment").GetString());
    }

    [Fact]
    public async Task StagingEditor_MovingAStagingFlagToProduction_Is403_AndTheFlagStaysInStaging()
    {
        var id = (await FlagAsync("scope-move", "staging")).GetProperty("id").GetString()!;

        var response = await _editor.PatchAsJsonAsync($"/api/flags/{id}", new { targetEnvironment = "production" });

        await AssertStatus(HttpStatusCode.Forbidden, response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("staging", (await AsAdminAsync(id)).GetProperty("targetEnvironment").GetString());
    }

    [Fact]
    public async Task StagingEditor_RecordChangeOnAProductionFlag_Is404_EvenWhenTheBodySaysStaging()
    {
        var id = (await FlagAsync("scope-change", "production")).GetProperty("id").GetString()!;

        var response = await _editor.PostJson("/api/flags/change", new
        {
            flagId = id, changeType = "disabled", newValue = new { enabled = false }, environment = "staging",
        });

        await AssertStatus(HttpStatusCode.NotFound, response);
        Assert.True((await AsAdminAsync(id)).GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task StagingEditor_RolloutsAndSchedulesOfAProductionFlag_Are404_AndNothingIsPlanned()
    {
        var id = (await FlagAsync("scope-rollout", "production", enabled: false, rollout: 0)).GetProperty("id").GetString()!;

        await AssertStatus(HttpStatusCode.NotFound, await _editor.PutAsJsonAsync($"/api/flags/{id}/rollout", new { }));
        await AssertStatus(HttpStatusCode.NotFound, await _editor.PostAsync($"/api/flags/{id}/rollout/start", null));
        await AssertStatus(HttpStatusCode.NotFound, await _editor.PostJson($"/api/flags/{id}/schedules",
            new { action = "enable", at = DateTimeOffset.UtcNow.AddHours(1) }));

        await AssertStatus(HttpStatusCode.NotFound, await _admin.GetAsync($"/api/flags/{id}/rollout"));
        var schedules = await (await _admin.GetAsync($"/api/flags/{id}/schedules")).ReadAs<JsonElement>();
        Assert.Equal(0, schedules.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task StagingViewer_ActiveRolloutsPage_IsFilledWithStagingPlans_NotCutShortByProductionOnes()
    {
        // the production plan is older, so a page cut before the scope filter would hold only it, and then be emptied
        foreach (var (name, environment) in new[] { ("scope-plans-prod", "production"), ("scope-plans-staging", "staging") })
        {
            var id = (await FlagAsync(name, environment, enabled: false, rollout: 0)).GetProperty("id").GetString()!;
            await AssertStatus(HttpStatusCode.OK, await _admin.PutAsJsonAsync($"/api/flags/{id}/rollout", new { }));
            await AssertStatus(HttpStatusCode.OK, await _admin.PostJson($"/api/flags/{id}/rollout/start", new { }));
        }

        var page = await (await _viewer.GetAsync("/api/rollouts?limit=1")).ReadAs<JsonElement>();

        var only = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal("scope-plans-staging", only.GetProperty("flagName").GetString());
    }

    [Fact]
    public async Task StagingEditor_ImportForStaging_DoesNotTouchAProductionFlagOfTheSameKey()
    {
        var id = (await FlagAsync("scope-import", "production")).GetProperty("id").GetString()!;
        const string file = """
            { "flags": { "scope-import": { "state": "DISABLED", "variants": { "on": true, "off": false }, "defaultVariant": "off" } } }
            """;

        var response = await _editor.PostRaw("/api/flags/import?environment=staging", file);

        await AssertStatus(HttpStatusCode.Forbidden, response);
        var after = await AsAdminAsync(id);
        Assert.Equal("production", after.GetProperty("targetEnvironment").GetString());
        Assert.True(after.GetProperty("enabled").GetBoolean());
        Assert.Equal(1, after.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task StagingViewer_SeesOnlyStagingFlags_AndTheirChanges()
    {
        var prod = (await FlagAsync("scope-view-prod", "production")).GetProperty("id").GetString()!;
        var staging = (await FlagAsync("scope-view-staging", "staging")).GetProperty("id").GetString()!;

        var list = await (await _viewer.GetAsync("/api/flags?limit=200")).ReadAs<JsonElement>();
        var ids = list.GetProperty("items").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToList();
        Assert.Contains(staging, ids);
        Assert.DoesNotContain(prod, ids);

        await AssertStatus(HttpStatusCode.NotFound, await _viewer.GetAsync($"/api/flags/{prod}"));
        await AssertStatus(HttpStatusCode.NotFound, await _viewer.GetAsync("/api/flags/scope-view-prod"));
        await AssertStatus(HttpStatusCode.NotFound, await _viewer.GetAsync($"/api/flags/{prod}/changes"));
        await AssertStatus(HttpStatusCode.OK, await _viewer.GetAsync($"/api/flags/{staging}/changes"));

        var changes = await (await _viewer.GetAsync("/api/flags/changes?limit=200")).ReadAs<JsonElement>();
        var changed = changes.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("flagId").GetString()).ToList();
        Assert.Contains(staging, changed);
        Assert.DoesNotContain(prod, changed);
        var byFlag = await (await _viewer.GetAsync($"/api/flags/changes?flagId={prod}")).ReadAs<JsonElement>();
        Assert.Equal(0, byFlag.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task StagingIngestKey_MetricsForAProductionFlag_Are404_AndNothingIsStored()
    {
        var id = (await FlagAsync("scope-metrics", "production")).GetProperty("id").GetString()!;
        var sample = new { flagId = id, errorRate = 50.0, latencyP50 = 900.0, latencyP99 = 2000.0, requestCount = 1000 };

        await AssertStatus(HttpStatusCode.NotFound, await _ingest.PostJson("/api/metrics", sample));
        await AssertStatus(HttpStatusCode.NotFound, await _ingest.PostJson("/api/metrics", new[] { sample }));

        var stored = await (await _admin.GetAsync($"/api/flags/{id}/metrics")).ReadAs<JsonElement>();
        Assert.Equal(0, stored.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task StagingEditor_TheAssistant_KnowsOnlyStagingFlags()
    {
        await FlagAsync("scope-chat-prod", "production");
        await FlagAsync("scope-chat-staging", "staging");
        const string question = "tell me about scope-chat-prod and the other flags";

        var staging = await (await _editor.PostJson("/api/chat", new { message = question })).ReadAs<JsonElement>();
        var admin = await (await _admin.PostJson("/api/chat", new { message = question })).ReadAs<JsonElement>();

        var reply = staging.GetProperty("reply").GetString()!;
        Assert.Contains("scope-chat-staging", reply);
        Assert.DoesNotContain("scope-chat-prod", reply);
        Assert.Contains("scope-chat-prod", admin.GetProperty("reply").GetString()!);
    }

    [Fact]
    public async Task StagingIngestKey_MetricsForAStagingFlag_AreStored()
    {
        var id = (await FlagAsync("scope-metrics-ok", "staging")).GetProperty("id").GetString()!;

        await AssertStatus(HttpStatusCode.OK, await _ingest.PostJson("/api/metrics",
            new { flagId = id, errorRate = 1.0, latencyP50 = 10.0, latencyP99 = 20.0, requestCount = 100 }));
    }
}
