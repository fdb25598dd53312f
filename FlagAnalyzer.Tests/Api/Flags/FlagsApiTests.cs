using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Flags;

public sealed class FlagsApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public FlagsApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<JsonElement> CreateFlag(string name, string env = "staging", bool enabled = false, double rollout = 0,
        string owner = "team-a", string[]? tags = null)
    {
        var response = await _client.PostJson("/api/flags", new
        {
            name, description = $"{name} flag", enabled, rolloutPercentage = rollout, targetEnvironment = env, owner, tags = tags ?? ["t1"],
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJson();
    }

    [Fact]
    public async Task GetFlag_ByIdOrName_ReturnsSameFlagWithETag()
    {
        var created = await CreateFlag("get-me");
        var id = created.GetProperty("id").GetString();

        var byId = await _client.GetAsync($"/api/flags/{id}");
        var byName = await _client.GetAsync("/api/flags/get-me");

        Assert.Equal(id, (await byId.ReadJson()).GetProperty("id").GetString());
        Assert.Equal(id, (await byName.ReadJson()).GetProperty("id").GetString());
        Assert.Equal("\"1\"", byId.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task GetFlag_Unknown_Is404ProblemJson()
    {
        var response = await _client.GetAsync("/api/flags/no-such-flag");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task CreateFlag_DuplicateName_Is409()
    {
        await CreateFlag("dup");

        var response = await _client.PostJson("/api/flags", new { name = "dup" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task CreateFlag_OnlyName_GetsDefaults()
    {
        var response = await _client.PostJson("/api/flags", new { name = "minimal" });
        var flag = await response.ReadJson();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, flag.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal("development", flag.GetProperty("targetEnvironment").GetString());
        Assert.Empty(flag.GetProperty("tags").EnumerateArray());
        Assert.False(flag.GetProperty("autoRollback").GetBoolean());
    }

    [Fact]
    public async Task CreateFlag_UnknownFieldsAreIgnored()
    {
        var response = await _client.PostRaw("/api/flags", """{"name":"extra-fields","colour":"blue","nested":{"a":1}}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Patch_TogglesFlag_IncrementsVersionAndLogsEnabledChange()
    {
        var id = (await CreateFlag("toggle")).GetProperty("id").GetString();

        var response = await _client.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true, changedBy = "ana@example.com" });
        var flag = await response.ReadJson();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(2, flag.GetProperty("version").GetInt64());
        Assert.Equal("\"2\"", response.Headers.ETag!.Tag);

        var changes = await (await _client.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        var newest = changes.GetProperty("items")[0];
        Assert.Equal("enabled", newest.GetProperty("changeType").GetString());
        Assert.Equal("ana@example.com", newest.GetProperty("changedBy").GetString());
        Assert.False(newest.GetProperty("previousValue").GetProperty("enabled").GetBoolean());
        Assert.True(newest.GetProperty("newValue").GetProperty("enabled").GetBoolean());
        Assert.False(string.IsNullOrEmpty(newest.GetProperty("predictionId").GetString()));
    }

    [Fact]
    public async Task Patch_RolloutOnly_LogsRolloutChanged()
    {
        var id = (await CreateFlag("rollout", enabled: true, rollout: 5)).GetProperty("id").GetString();

        await _client.PatchAsJsonAsync($"/api/flags/{id}", new { rolloutPercentage = 50 });

        var changes = await (await _client.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        var newest = changes.GetProperty("items")[0];
        Assert.Equal("rollout_changed", newest.GetProperty("changeType").GetString());
        Assert.Equal(5, newest.GetProperty("previousValue").GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(50, newest.GetProperty("newValue").GetProperty("rolloutPercentage").GetDouble());
    }

    [Fact]
    public async Task Patch_NothingChanged_KeepsVersionAndWritesNoChange()
    {
        var id = (await CreateFlag("same", enabled: true)).GetProperty("id").GetString();

        var flag = await (await _client.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true })).ReadJson();

        Assert.Equal(1, flag.GetProperty("version").GetInt64());
        var changes = await (await _client.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        Assert.Single(changes.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Patch_StaleIfMatch_Is412AndFlagUnchanged()
    {
        var id = (await CreateFlag("concurrent")).GetProperty("id").GetString();
        await _client.PatchAsJsonAsync($"/api/flags/{id}", new { description = "first writer" });

        var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/flags/{id}") { Content = JsonContent.Create(new { description = "second writer" }) };
        request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\""));
        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal(2, (await response.ReadJson()).GetProperty("currentVersion").GetInt64());
        var flag = await (await _client.GetAsync($"/api/flags/{id}")).ReadJson();
        Assert.Equal("first writer", flag.GetProperty("description").GetString());
    }

    [Fact]
    public async Task Patch_CurrentIfMatch_Succeeds()
    {
        var id = (await CreateFlag("matching")).GetProperty("id").GetString();

        var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/flags/{id}") { Content = JsonContent.Create(new { owner = "team-b" }) };
        request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\""));
        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("team-b", (await response.ReadJson()).GetProperty("owner").GetString());
    }

    [Fact]
    public async Task Patch_RenameToTakenName_Is409()
    {
        await CreateFlag("taken");
        var id = (await CreateFlag("renamer")).GetProperty("id").GetString();

        var response = await _client.PatchAsJsonAsync($"/api/flags/{id}", new { name = "taken" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task Patch_Rename_OldNameNoLongerResolves()
    {
        var id = (await CreateFlag("old-name")).GetProperty("id").GetString();
        await _client.GetAsync("/api/flags/old-name"); // warm the cache under the old name

        await _client.PatchAsJsonAsync($"/api/flags/{id}", new { name = "new-name" });

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/flags/old-name")).StatusCode);
        Assert.Equal(id, (await (await _client.GetAsync("/api/flags/new-name")).ReadJson()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Patch_UnknownFlag_Is404()
    {
        var response = await _client.PatchAsJsonAsync("/api/flags/nope", new { enabled = true });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Delete_RemovesFlag_KeepsHistoryWithDeletedChange()
    {
        var id = (await CreateFlag("doomed")).GetProperty("id").GetString();

        var response = await _client.DeleteAsync($"/api/flags/{id}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/flags/{id}")).StatusCode);
        var changes = await (await _client.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        Assert.Equal(["deleted", "created"], changes.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("changeType").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/api/flags/{id}")).StatusCode);
    }

    [Fact]
    public async Task Delete_StaleIfMatch_Is412AndFlagRemains()
    {
        var id = (await CreateFlag("guarded")).GetProperty("id").GetString();
        await _client.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true });

        var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/flags/{id}");
        request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\""));
        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/api/flags/{id}")).StatusCode);
    }

    [Fact]
    public async Task List_PagesThroughAllFlagsInNameOrder()
    {
        foreach (var n in new[] { "p-c", "p-a", "p-e", "p-b", "p-d" }) await CreateFlag(n);

        var names = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await _client.GetAsync($"/api/flags?limit=2{(cursor is null ? "" : $"&cursor={cursor}")}")).ReadJson();
            names.AddRange(page.GetProperty("items").EnumerateArray().Select(f => f.GetProperty("name").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        } while (cursor is not null && pages < 10);

        Assert.Equal(["p-a", "p-b", "p-c", "p-d", "p-e"], names);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task List_FiltersByEnvironmentEnabledOwnerAndTag()
    {
        await CreateFlag("f-prod-on", env: "production", enabled: true, owner: "payments", tags: ["checkout"]);
        await CreateFlag("f-prod-off", env: "production", enabled: false, owner: "payments", tags: ["search"]);
        await CreateFlag("f-stage-on", env: "staging", enabled: true, owner: "growth", tags: ["checkout"]);

        async Task<string[]> Names(string query) =>
            (await (await _client.GetAsync($"/api/flags?{query}")).ReadJson()).GetProperty("items").EnumerateArray()
                .Select(f => f.GetProperty("name").GetString()!).ToArray();

        Assert.Equal(["f-prod-off", "f-prod-on"], await Names("environment=production"));
        Assert.Equal(["f-prod-on", "f-stage-on"], await Names("enabled=true"));
        Assert.Equal(["f-stage-on"], await Names("owner=growth"));
        Assert.Equal(["f-prod-on", "f-stage-on"], await Names("tag=checkout"));
        Assert.Equal(["f-prod-on"], await Names("environment=production&tag=checkout"));
    }

    [Fact]
    public async Task List_BadLimitAndCursor_Are400NamingTheParameter()
    {
        var limitResponse = await _client.GetAsync("/api/flags?limit=0");
        var cursorResponse = await _client.GetAsync("/api/flags?cursor=%25%25%25");
        var badLimit = await limitResponse.ReadJson();
        var badCursor = await cursorResponse.ReadJson();

        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (limitResponse.StatusCode, cursorResponse.StatusCode));
        Assert.Equal("application/problem+json", limitResponse.Content.Headers.ContentType?.MediaType);
        Assert.True(badLimit.GetProperty("errors").TryGetProperty("limit", out _));
        Assert.True(badCursor.GetProperty("errors").TryGetProperty("cursor", out _));
    }

    [Fact]
    public async Task ChangeLog_AcrossFlags_FiltersByFlagAndType()
    {
        var a = (await CreateFlag("log-a")).GetProperty("id").GetString();
        var b = (await CreateFlag("log-b")).GetProperty("id").GetString();
        await _client.PatchAsJsonAsync($"/api/flags/{a}", new { enabled = true });
        await _client.PatchAsJsonAsync($"/api/flags/{b}", new { description = "edited" });

        var enabled = await (await _client.GetAsync("/api/flags/changes?changeType=enabled")).ReadJson();
        var ofB = await (await _client.GetAsync($"/api/flags/changes?flagId={b}")).ReadJson();

        var onlyEnabled = Assert.Single(enabled.GetProperty("items").EnumerateArray());
        Assert.Equal(a, onlyEnabled.GetProperty("flagId").GetString());
        Assert.Equal(["updated", "created"], ofB.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("changeType").GetString()));
    }
}
