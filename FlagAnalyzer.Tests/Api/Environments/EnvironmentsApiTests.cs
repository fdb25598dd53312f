using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Environments;

/// <summary>Issue 26 item 1: environments as a resource — list, create, reorder/recolour/retire, scope, and the upgrade of an existing database.</summary>
public sealed class EnvironmentsApiTests : IAsyncLifetime
{
    private readonly ApiFactory _app = new() { Settings = { ["Auth:WriteBurst"] = "100000" } };
    private HttpClient _admin = null!;

    public Task InitializeAsync()
    {
        _admin = _app.CreateClient();
        return Task.CompletedTask;
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

    private static async Task ExpectFieldError(HttpResponseMessage response, string field)
    {
        var problem = await Expect(HttpStatusCode.BadRequest, response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"the problem does not name '{field}': {problem}");
    }

    private static async Task<List<string>> NamesAsync(HttpClient client) =>
        (await Expect(HttpStatusCode.OK, await client.GetAsync("/api/environments"))).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("name").GetString()!).ToList();

    [Fact]
    public async Task List_OfANewDatabase_IsDevelopmentStagingProduction_InPromotionOrder()
    {
        var items = (await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments"))).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["development", "staging", "production"], items.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal([0, 1, 2], items.Select(e => e.GetProperty("position").GetInt32()));
        Assert.All(items, e =>
        {
            Assert.False(e.GetProperty("retired").GetBoolean());
            Assert.Matches("^#[0-9a-fA-F]{6}$", e.GetProperty("color").GetString()!);
            Assert.True(e.TryGetProperty("createdAt", out _) && e.TryGetProperty("updatedAt", out _));
        });
    }

    [Fact]
    public async Task Create_AddsTheEnvironmentLast_201WithLocation_AndATakenNameIs409()
    {
        var response = await _admin.PostJson("/api/environments", new { name = "qa", color = "#123abc" });
        var created = await Expect(HttpStatusCode.Created, response);
        Assert.Equal("/api/environments/qa", response.Headers.Location?.OriginalString);
        Assert.Equal(3, created.GetProperty("position").GetInt32());
        Assert.Equal("#123abc", created.GetProperty("color").GetString());
        var read = await Expect(HttpStatusCode.OK, await _admin.GetAsync(response.Headers.Location));
        Assert.Equal("qa", read.GetProperty("name").GetString());
        Assert.Equal(["development", "staging", "production", "qa"], await NamesAsync(_admin));

        await Expect(HttpStatusCode.Conflict, await _admin.PostJson("/api/environments", new { name = "qa" }));
        await Expect(HttpStatusCode.Conflict, await _admin.PostJson("/api/environments", new { name = "production" }));
        Assert.Equal(4, (await NamesAsync(_admin)).Count);
    }

    [Theory]
    [InlineData("""{"color":"#ffffff"}""", "name")]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{"name":"Prod"}""", "name")]
    [InlineData("""{"name":"has space"}""", "name")]
    [InlineData("""{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""", "name")]
    [InlineData("""{"name":"ok-name","color":"red"}""", "color")]
    public async Task Create_BadInput_Is400NamingTheField_AndNothingIsAdded(string body, string field)
    {
        await ExpectFieldError(await _admin.PostRaw("/api/environments", body), field);
        Assert.Equal(3, (await NamesAsync(_admin)).Count);
    }

    [Fact]
    public async Task Patch_Position_MovesTheEnvironment_AndShiftsTheOthers()
    {
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/environments", new { name = "qa" }));
        var moved = await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/qa", new { position = 1 }));
        Assert.Equal(1, moved.GetProperty("position").GetInt32());
        Assert.Equal(["development", "qa", "staging", "production"], await NamesAsync(_admin));

        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/development", new { position = 3 }));
        var items = (await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments"))).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["qa", "staging", "production", "development"], items.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal([0, 1, 2, 3], items.Select(e => e.GetProperty("position").GetInt32()));
    }

    [Fact]
    public async Task Patch_Color_Recolours_AndBadInputOrUnknownNamesAre400And404()
    {
        var recoloured = await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/staging", new { color = "#000000" }));
        Assert.Equal("#000000", recoloured.GetProperty("color").GetString());
        Assert.Equal(1, recoloured.GetProperty("position").GetInt32());

        await ExpectFieldError(await _admin.PatchAsJsonAsync("/api/environments/staging", new { color = "black" }), "color");
        await ExpectFieldError(await _admin.PatchAsJsonAsync("/api/environments/staging", new { position = -1 }), "position");
        await ExpectFieldError(await _admin.PatchAsJsonAsync("/api/environments/staging", new { position = 3 }), "position");
        await Expect(HttpStatusCode.NotFound, await _admin.PatchAsJsonAsync("/api/environments/no-such-env", new { color = "#000000" }));
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/environments/no-such-env"));
        Assert.Equal(["development", "staging", "production"], await NamesAsync(_admin));
    }

    [Fact]
    public async Task RetiredEnvironment_RefusesNewFlags_400OnTargetEnvironment_ButKeepsItsFlagsChangeable()
    {
        var kept = await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name = "env-kept", targetEnvironment = "staging" }));
        var elsewhere = await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name = "env-elsewhere", targetEnvironment = "production" }));
        var retired = await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/staging", new { retired = true }));
        Assert.True(retired.GetProperty("retired").GetBoolean());

        await ExpectFieldError(await _admin.PostJson("/api/flags", new { name = "env-new", targetEnvironment = "staging" }), "targetEnvironment");
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/flags/env-new"));
        await ExpectFieldError(await _admin.PatchAsJsonAsync($"/api/flags/{elsewhere.GetProperty("id").GetString()}", new { targetEnvironment = "staging" }), "targetEnvironment");
        await ExpectFieldError(await _admin.PostJson("/api/flags/change", new
        {
            flagId = elsewhere.GetProperty("id").GetString(), changeType = "updated", newValue = new { targetEnvironment = "staging" },
        }), "newValue.targetEnvironment");
        Assert.Equal("production", (await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/flags/env-elsewhere"))).GetProperty("targetEnvironment").GetString());

        // a flag already there stays changeable: only entering the environment is refused
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync($"/api/flags/{kept.GetProperty("id").GetString()}", new { enabled = true }));

        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/staging", new { retired = false }));
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name = "env-new", targetEnvironment = "staging" }));
    }

    [Fact]
    public async Task ImportingIntoARetiredEnvironment_Is400OnEnvironment_AndImportsNothing_AndIntoANewOneRegistersIt()
    {
        const string file = """{ "flags": { "env-imported": { "state": "ENABLED", "variants": { "on": true, "off": false }, "defaultVariant": "on" } } }""";
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/environments/development", new { retired = true }));
        await ExpectFieldError(await _admin.PostRaw("/api/flags/import?environment=development", file), "environment");
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/flags/env-imported"));

        await Expect(HttpStatusCode.OK, await _admin.PostRaw("/api/flags/import?environment=load-test", file));
        Assert.Equal(["development", "staging", "production", "load-test"], await NamesAsync(_admin));
    }

    [Fact]
    public async Task AFlagInACustomEnvironment_RegistersIt_Last_AndAFailedWriteRegistersNothing()
    {
        await Expect(HttpStatusCode.Created, await _admin.PostJson("/api/flags", new { name = "env-custom", targetEnvironment = "perf" }));
        var perf = await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/perf"));
        Assert.Equal(3, perf.GetProperty("position").GetInt32());

        // the flag's name is taken: the transaction that would have registered "canary" rolls back with it
        await Expect(HttpStatusCode.Conflict, await _admin.PostJson("/api/flags", new { name = "env-custom", targetEnvironment = "canary" }));
        await Expect(HttpStatusCode.NotFound, await _admin.GetAsync("/api/environments/canary"));

        // moving a flag registers its new environment too
        await Expect(HttpStatusCode.OK, await _admin.PatchAsJsonAsync("/api/flags/env-custom", new { targetEnvironment = "canary" }));
        Assert.Equal(["development", "staging", "production", "perf", "canary"], await NamesAsync(_admin));
    }

    [Fact]
    public async Task Access_NoKeyIs401_ViewersRead_OnlyAdminsWrite()
    {
        var anonymous = _app.CreateClient().WithoutKey();
        await Expect(HttpStatusCode.Unauthorized, await anonymous.GetAsync("/api/environments"));
        await Expect(HttpStatusCode.Unauthorized, await anonymous.PostJson("/api/environments", new { name = "anon" }));

        var viewer = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("viewer")).Secret);
        var editor = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("editor")).Secret);
        var sdk = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("sdk", "production")).Secret);
        Assert.Equal(3, (await NamesAsync(viewer)).Count);
        await Expect(HttpStatusCode.Forbidden, await sdk.GetAsync("/api/environments"));
        await Expect(HttpStatusCode.Forbidden, await viewer.PostJson("/api/environments", new { name = "by-viewer" }));
        await Expect(HttpStatusCode.Forbidden, await editor.PostJson("/api/environments", new { name = "by-editor" }));
        await Expect(HttpStatusCode.Forbidden, await editor.PatchAsJsonAsync("/api/environments/staging", new { retired = true }));
        Assert.Equal(["development", "staging", "production"], await NamesAsync(_admin));
        Assert.False((await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/staging"))).GetProperty("retired").GetBoolean());
    }

    [Fact]
    public async Task AScopedKey_SeesOnlyItsEnvironment_AndCannotCreateOrChangeAnother()
    {
        var viewer = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("viewer", "staging")).Secret);
        var scopedAdmin = _app.CreateClient().WithKey((await _admin.CreateKeyAsync("admin", "staging")).Secret);
        Assert.Equal(["staging"], await NamesAsync(viewer));
        Assert.Equal(["staging"], await NamesAsync(scopedAdmin));
        await Expect(HttpStatusCode.OK, await viewer.GetAsync("/api/environments/staging"));
        await Expect(HttpStatusCode.Forbidden, await viewer.GetAsync("/api/environments/production"));
        await Expect(HttpStatusCode.Forbidden, await viewer.GetAsync("/api/environments?environment=production"));

        await Expect(HttpStatusCode.Forbidden, await scopedAdmin.PostJson("/api/environments", new { name = "qa" }));
        await Expect(HttpStatusCode.Forbidden, await scopedAdmin.PatchAsJsonAsync("/api/environments/production", new { retired = true }));
        await Expect(HttpStatusCode.OK, await scopedAdmin.PatchAsJsonAsync("/api/environments/staging", new { color = "#111111" }));
        Assert.Equal(["development", "staging", "production"], await NamesAsync(_admin));
        Assert.False((await Expect(HttpStatusCode.OK, await _admin.GetAsync("/api/environments/production"))).GetProperty("retired").GetBoolean());
    }
}

/// <summary>
/// An existing database (every migration but environments, as the previous release left it) whose flags use custom
/// environment names: after the upgrade each of those names is an environment, after the three defaults, in name order.
/// </summary>
public sealed class EnvironmentsMigrationTests
{
    [Fact]
    public async Task Upgrade_TurnsEveryCustomTargetEnvironment_IntoAnEnvironment_AfterTheDefaults_InNameOrder()
    {
        using var app = new ApiFactory();
        await using (var conn = await TestDatabase.OpenAsync(app.DatabasePath))
        {
            var provider = conn.Provider();
            await RunAsync(conn, provider == DbProvider.Postgres
                ? "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
                : "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
            // the previous release had neither the environments step nor the steps after it that alter its table (1100: change requests)
            foreach (var step in Migrations.All.Where(s => s.Name != "environments" && s.Version < 1100).OrderBy(s => s.Version))
            {
                await RunAsync(conn, step.For(provider));
                await RunAsync(conn, $"INSERT INTO schema_migrations(version, name, applied_at) VALUES ({step.Version}, 'previous release', 0)");
            }
            var i = 0;
            foreach (var env in new[] { "zeta", "production", "alpha", "zeta", "perf", "staging" })
                await RunAsync(conn, $"""
                    INSERT INTO feature_flags(id, name, flag_key, enabled, rollout_percentage, target_environment, created_at, updated_at, version)
                    VALUES ('flg_old{i}', 'old-{i}', 'old-{i}', FALSE, 0, '{env}', {1_700_000_000_000 + i}, {1_700_000_000_000 + i++}, 1)
                    """);
        }

        var admin = app.CreateClient();
        var items = (await (await admin.GetAsync("/api/environments")).ReadAs<JsonElement>()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["development", "staging", "production", "alpha", "perf", "zeta"], items.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal([0, 1, 2, 3, 4, 5], items.Select(e => e.GetProperty("position").GetInt32()));
        // the flags kept their environments, and one in a custom environment is served as before
        Assert.Equal("zeta", (await (await admin.GetAsync("/api/flags/old-0")).ReadAs<JsonElement>()).GetProperty("targetEnvironment").GetString());
    }

    private static async Task RunAsync(System.Data.Common.DbConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }
}
