using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>Issue 26 items 2 and 4: one flag, a configuration per environment — the table, the API, promotion, and the seed shape as home.</summary>
public sealed class FlagConfigurationsApiTests : IDisposable
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };
    private readonly HttpClient _admin;

    public FlagConfigurationsApiTests() => _admin = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private static async Task<JsonElement> Expect(HttpStatusCode expected, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task ExpectFieldError(HttpResponseMessage response, string field)
    {
        var problem = await Expect(HttpStatusCode.BadRequest, response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        // targeting errors name the node: targeting.if[1]…
        Assert.True(problem.GetProperty("errors").EnumerateObject().Any(e => e.Name == field || e.Name.StartsWith(field + ".", StringComparison.Ordinal)),
            $"the problem does not name '{field}': {problem}");
    }

    private async Task<JsonElement> CreateAsync(string name, string home = "development", bool enabled = true, double rollout = 100, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["name"] = name, ["targetEnvironment"] = home, ["enabled"] = enabled, ["rolloutPercentage"] = rollout,
            ["variants"] = new Dictionary<string, object> { ["on"] = true, ["off"] = false, ["dark"] = true },
        };
        return await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", body));
    }

    private static Task<HttpResponseMessage> Patch(HttpClient client, string url, string json, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return client.SendAsync(request);
    }

    private async Task<List<JsonElement>> ConfigurationsAsync(string flag) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{flag}/environments"))).GetProperty("items").EnumerateArray().ToList();

    private async Task<List<JsonElement>> ChangesAsync(string flag) =>
        (await Expect(HttpStatusCode.OK, await _admin.GetAsync($"/api/flags/{flag}/changes"))).GetProperty("items").EnumerateArray().ToList();

    [Fact]
    public async Task NewFlag_IsConfiguredInEveryEnvironment_HomeAsGiven_OthersDisabled_InPromotionOrder()
    {
        await CreateAsync("cfg-new", home: "staging", enabled: true, rollout: 40);

        var items = await ConfigurationsAsync("cfg-new");

        Assert.Equal(["development", "staging", "production"], items.Select(i => i.GetProperty("environment").GetString()));
        var staging = items[1];
        Assert.True(staging.GetProperty("enabled").GetBoolean());
        Assert.Equal(40, staging.GetProperty("rolloutPercentage").GetDouble());
        foreach (var other in new[] { items[0], items[2] })
        {
            Assert.False(other.GetProperty("enabled").GetBoolean());
            Assert.Equal(0, other.GetProperty("rolloutPercentage").GetDouble());
            Assert.Equal("on", other.GetProperty("defaultVariant").GetString());
            Assert.Equal("off", other.GetProperty("offVariant").GetString());
        }
        var one = await _admin.GetAsync("/api/flags/cfg-new/environments/production");
        var production = await Expect(HttpStatusCode.OK, one);
        Assert.Equal($"\"{production.GetProperty("version").GetInt64()}\"", one.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task PatchOfAnotherEnvironment_ChangesOnlyThatConfiguration_LoggedThere_SeedFlagUntouched()
    {
        var created = await CreateAsync("cfg-patch", home: "development");
        var seedVersion = created.GetProperty("version").GetInt64();

        var patched = await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-patch/environments/staging",
            """{"enabled":true,"rolloutPercentage":25,"defaultVariant":"dark"}"""));

        Assert.True(patched.GetProperty("enabled").GetBoolean());
        Assert.Equal(25, patched.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal("dark", patched.GetProperty("defaultVariant").GetString());
        Assert.Equal(2, patched.GetProperty("version").GetInt64());
        var seed = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-patch"));
        Assert.Equal(seedVersion, seed.GetProperty("version").GetInt64());
        Assert.Equal("on", seed.GetProperty("defaultVariant").GetString());
        var production = (await ConfigurationsAsync("cfg-patch")).Single(i => i.GetProperty("environment").GetString() == "production");
        Assert.False(production.GetProperty("enabled").GetBoolean());
        var change = (await ChangesAsync("cfg-patch"))[0];
        Assert.Equal("staging", change.GetProperty("environment").GetString());
        Assert.Equal("enabled", change.GetProperty("changeType").GetString());
        Assert.Equal(25, change.GetProperty("newValue").GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task Patch_RefusesBadInput_Stale_UnknownAndRetiredEnvironments_AndWritesNothing()
    {
        await CreateAsync("cfg-bad");
        var before = await ChangesAsync("cfg-bad");

        await ExpectFieldError(await Patch(_admin, "/api/flags/cfg-bad/environments/staging", """{"rolloutPercentage":101}"""), "rolloutPercentage");
        await ExpectFieldError(await Patch(_admin, "/api/flags/cfg-bad/environments/staging", """{"defaultVariant":"nope"}"""), "defaultVariant");
        await ExpectFieldError(await Patch(_admin, "/api/flags/cfg-bad/environments/staging", """{"targeting":{"nope":[1]}}"""), "targeting");
        await Expect(HttpStatusCode.PreconditionFailed, await Patch(_admin, "/api/flags/cfg-bad/environments/staging", """{"enabled":true}""", "\"7\""));
        await Expect(HttpStatusCode.NotFound, await Patch(_admin, "/api/flags/cfg-bad/environments/nowhere", """{"enabled":true}"""));
        await Expect(HttpStatusCode.NotFound, await Patch(_admin, "/api/flags/no-such-flag/environments/staging", """{"enabled":true}"""));
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/environments", new { name = "old-env" }));
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/environments/old-env", """{"retired":true}"""));
        await ExpectFieldError(await Patch(_admin, "/api/flags/cfg-bad/environments/old-env", """{"enabled":true}"""), "environment");

        Assert.Equal(before.Count, (await ChangesAsync("cfg-bad")).Count);
        Assert.All(await ConfigurationsAsync("cfg-bad"), c => Assert.True(c.GetProperty("environment").GetString() == "development" || !c.GetProperty("enabled").GetBoolean()));
        // the current version passes If-Match
        var staging = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-bad/environments/staging"));
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-bad/environments/staging", """{"enabled":true}""", $"\"{staging.GetProperty("version").GetInt64()}\""));
    }

    [Fact]
    public async Task HomeConfiguration_IsTheSeedFlag_BothWays()
    {
        await CreateAsync("cfg-home", home: "production", enabled: false, rollout: 0);

        var seed = await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-home", """{"enabled":true,"rolloutPercentage":30}"""));
        var home = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-home/environments/production"));
        Assert.True(home.GetProperty("enabled").GetBoolean());
        Assert.Equal(30, home.GetProperty("rolloutPercentage").GetDouble());

        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-home/environments/production", """{"rolloutPercentage":60}"""));
        var after = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-home"));
        Assert.Equal(60, after.GetProperty("rolloutPercentage").GetDouble());
        Assert.True(after.GetProperty("version").GetInt64() > seed.GetProperty("version").GetInt64(), "the seed flag's version moves with its home configuration");
        var change = (await ChangesAsync("cfg-home"))[0];
        Assert.Equal("rollout_changed", change.GetProperty("changeType").GetString());
        Assert.Equal("production", change.GetProperty("environment").GetString());
    }

    [Fact]
    public async Task Promote_CopiesTheSourceConfiguration_OneRowNamingSource_AndAgainChangesNothing()
    {
        await CreateAsync("cfg-promote", home: "development", enabled: false, rollout: 0);
        var staging = await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-promote/environments/staging",
            """{"enabled":true,"rolloutPercentage":35,"defaultVariant":"dark","targeting":{"if":[{"==":[{"var":"plan"},"pro"]},"on","off"]},"autoRollback":true}"""));

        var diff = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-promote/environments/production/promote?from=staging"));
        Assert.Equal("staging", diff.GetProperty("from").GetString());
        Assert.Equal("production", diff.GetProperty("to").GetString());
        Assert.Equal(staging.GetProperty("version").GetInt64(), diff.GetProperty("fromRevision").GetInt64());
        Assert.Equal(["enabled", "rolloutPercentage", "targeting", "defaultVariant", "autoRollback"],
            diff.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("field").GetString()));
        var rollout = diff.GetProperty("changes")[1];
        Assert.Equal(0, rollout.GetProperty("from").GetDouble());
        Assert.Equal(35, rollout.GetProperty("to").GetDouble());
        var rowsBefore = (await ChangesAsync("cfg-promote")).Count;

        var promoted = await Expect(HttpStatusCode.OK, await _admin.PostJson("/api/flags/cfg-promote/environments/production/promote", new { from = "staging" }));

        Assert.Equal("production", promoted.GetProperty("environment").GetString());
        foreach (var field in new[] { "enabled", "rolloutPercentage", "targeting", "defaultVariant", "offVariant", "autoRollback" })
            Assert.Equal(staging.GetProperty(field).GetRawText(), promoted.GetProperty(field).GetRawText());
        var changes = await ChangesAsync("cfg-promote");
        Assert.Equal(rowsBefore + 1, changes.Count);
        Assert.Equal("production", changes[0].GetProperty("environment").GetString());
        Assert.Contains("staging", changes[0].GetProperty("reason").GetString());
        Assert.Contains($"version {staging.GetProperty("version").GetInt64()}", changes[0].GetProperty("reason").GetString());

        var again = await Expect(HttpStatusCode.OK, await _admin.PostJson("/api/flags/cfg-promote/environments/production/promote", new { from = "staging" }));
        Assert.Equal(promoted.GetProperty("version").GetInt64(), again.GetProperty("version").GetInt64());
        Assert.Equal(rowsBefore + 1, (await ChangesAsync("cfg-promote")).Count);
        Assert.Empty((await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-promote/environments/production/promote?from=staging")))
            .GetProperty("changes").EnumerateArray());
    }

    [Fact]
    public async Task Promote_RefusesMissingSameOrUnknownSource_AndStaleTarget()
    {
        await CreateAsync("cfg-promote-bad");
        await ExpectFieldError(await _admin.PostJson("/api/flags/cfg-promote-bad/environments/production/promote", new { }), "from");
        await ExpectFieldError(await _admin.PostJson("/api/flags/cfg-promote-bad/environments/production/promote", new { from = "production" }), "from");
        await ExpectFieldError(await _admin.PostJson("/api/flags/cfg-promote-bad/environments/production/promote", new { from = "nowhere" }), "from");
        await ExpectFieldError(await _admin.GetAsync("/api/flags/cfg-promote-bad/environments/production/promote"), "from");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/flags/cfg-promote-bad/environments/production/promote")
        {
            Content = JsonContent.Create(new { from = "development" }),
        };
        request.Headers.TryAddWithoutValidation("If-Match", "\"99\"");
        await Expect(HttpStatusCode.PreconditionFailed, await _admin.SendAsync(request));
    }

    [Fact]
    public async Task MovingHome_SwapsTheTwoConfigurations_NoneCreatedOrLost()
    {
        await CreateAsync("cfg-move", home: "development", enabled: true, rollout: 70);
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-move/environments/production", """{"enabled":true,"rolloutPercentage":5}"""));

        var moved = await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-move", """{"targetEnvironment":"production"}"""));

        Assert.Equal(70, moved.GetProperty("rolloutPercentage").GetDouble());
        var items = (await ConfigurationsAsync("cfg-move")).ToDictionary(i => i.GetProperty("environment").GetString()!);
        Assert.Equal(3, items.Count);
        Assert.Equal(70, items["production"].GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(5, items["development"].GetProperty("rolloutPercentage").GetDouble());
        Assert.False(items["staging"].GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task NewEnvironment_GivesEveryFlagADisabledConfiguration_AndDeleteRemovesAll()
    {
        var created = await CreateAsync("cfg-env", enabled: true);
        var id = created.GetProperty("id").GetString()!;
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/environments", new { name = "perf" }));

        var perf = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/cfg-env/environments/perf"));
        Assert.False(perf.GetProperty("enabled").GetBoolean());
        Assert.Equal(4, await TestDatabase.ScalarAsync(_app.DatabasePath, "SELECT COUNT(*) FROM flag_environments WHERE flag_id = @id", ("id", id)));
        var list = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/perf/flags"));
        var row = list.GetProperty("items").EnumerateArray().Single(f => f.GetProperty("id").GetString() == id);
        Assert.Equal("perf", row.GetProperty("environment").GetString());
        Assert.Equal("development", row.GetProperty("targetEnvironment").GetString());
        Assert.False(row.GetProperty("enabled").GetBoolean());
        Assert.Equal("cfg-env", row.GetProperty("key").GetString());
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/environments/nowhere/flags"));

        await Expect(HttpStatusCode.NoContent, await _admin.DeleteAsync("/api/flags/cfg-env"));
        Assert.Equal(0, await TestDatabase.ScalarAsync(_app.DatabasePath, "SELECT COUNT(*) FROM flag_environments WHERE flag_id = @id", ("id", id)));
    }

    [Fact]
    public async Task Ofrep_ScopedKeys_EvaluateTheirEnvironmentsConfiguration_UnscopedTheHome()
    {
        await CreateAsync("cfg-eval", home: "production", enabled: true, rollout: 100);
        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-eval/environments/staging", """{"enabled":true,"rolloutPercentage":100,"defaultVariant":"dark"}"""));
        var staging = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "staging")).Secret);
        var development = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "development")).Secret);
        var production = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "production")).Secret);

        async Task<(string? Variant, string? Reason)> Evaluate(HttpClient c)
        {
            var r = await Expect(HttpStatusCode.OK, await c.PostRaw("/ofrep/v1/evaluate/flags/cfg-eval", """{"context":{"targetingKey":"u1"}}"""));
            return (r.GetProperty("variant").GetString(), r.GetProperty("reason").GetString());
        }

        Assert.Equal(("dark", "STATIC"), await Evaluate(staging));
        Assert.Equal(("off", "DISABLED"), await Evaluate(development));
        Assert.Equal(("on", "STATIC"), await Evaluate(production));
        Assert.Equal(("on", "STATIC"), await Evaluate(_admin));
        var bulk = await Expect(HttpStatusCode.OK, await staging.PostRaw("/ofrep/v1/evaluate/flags", """{"context":{"targetingKey":"u1"}}"""));
        Assert.Equal("dark", bulk.GetProperty("flags").EnumerateArray().Single(f => f.GetProperty("key").GetString() == "cfg-eval").GetProperty("variant").GetString());
    }

    [Fact]
    public async Task BulkETag_OfAnEnvironment_MovesWithItsConfigurationsOnly()
    {
        await CreateAsync("cfg-etag", home: "development");
        var staging = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "staging")).Secret);
        var production = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "production")).Secret);
        async Task<string> ETag(HttpClient c) => (await c.PostRaw("/ofrep/v1/evaluate/flags", """{"context":{}}""")).Headers.ETag!.Tag;
        var (s0, p0) = (await ETag(staging), await ETag(production));

        await Expect(HttpStatusCode.OK, await Patch(_admin, "/api/flags/cfg-etag/environments/staging", """{"enabled":true}"""));

        Assert.NotEqual(s0, await ETag(staging));
        Assert.Equal(p0, await ETag(production));
    }
}
