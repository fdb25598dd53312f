using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// Who a flag is and who changed it cannot be forged (issue 23): names that look like ids are refused and an id
/// always finds its own flag; <c>changedBy</c> is checked wherever it comes from; a change row logs the flag's
/// environment, not the one the request claims.
/// </summary>
public sealed class FlagIdentityTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _http;

    public FlagIdentityTests() => _http = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private async Task<JsonElement> CreateAsync(object body)
    {
        var response = await _http.PostJson("/api/flags", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadJson();
    }

    private static async Task AssertInvalidAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), body);
    }

    [Fact]
    public async Task NameThatLooksLikeAnId_IsRefusedOnCreateAndPatch_AndNeverGivenByAnImport()
    {
        var real = await CreateAsync(new { name = "real-flag" });
        var id = real.GetProperty("id").GetString()!;
        await CreateAsync(new { name = "other-flag" });

        await AssertInvalidAsync(await _http.PostJson("/api/flags", new { name = id }), "name");
        await AssertInvalidAsync(await _http.PostJson("/api/flags", new { name = "flg_01jf3k5v7x9z0a2c4e6g8h0j2m" }), "name");
        await AssertInvalidAsync(await _http.PatchAsJsonAsync("/api/flags/other-flag", new { name = id }), "name");
        var import = await _http.PostRaw("/api/flags/import",
            "{\"flags\":{\"" + id + "\":{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},\"defaultVariant\":\"on\"}}}");
        // an import names new flags after their keys: a key of that shape gets a suffixed name, never the id itself
        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        var names = (await (await _http.GetAsync("/api/flags")).ReadJson()).GetProperty("items").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.DoesNotContain(id, names);
        Assert.Contains(id + "-2", names);

        Assert.Equal("real-flag", (await (await _http.GetAsync($"/api/flags/{id}")).ReadJson()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task AnIdFindsItsFlag_EvenWhenAnOlderFlagIsNamedAfterIt()
    {
        // an impostor stored before names were checked: renamed behind the API's back, then read from the store
        var impostor = (await CreateAsync(new { name = "impostor" })).GetProperty("id").GetString()!;
        var real = (await CreateAsync(new { name = "real" })).GetProperty("id").GetString()!;
        await TestDatabase.ExecuteAsync(_app.DatabasePath, "UPDATE feature_flags SET name = @real WHERE id = @impostor", ("real", real), ("impostor", impostor));
        // rewrite the real row after it: on PostgreSQL an updated row goes to the end of the table, so a scan meets the impostor first
        await TestDatabase.ExecuteAsync(_app.DatabasePath, "UPDATE feature_flags SET description = 'the real one' WHERE id = @real", ("real", real));

        using var restarted = _app.Restart();
        var http = restarted.CreateClient();
        // read the impostor first: a cache that keeps flags by name now holds it under the real flag's id
        Assert.Equal(impostor, (await (await http.GetAsync($"/api/flags/{impostor}")).ReadJson()).GetProperty("id").GetString());
        var byId = await (await http.GetAsync($"/api/flags/{real}")).ReadJson();
        var changes = await (await http.GetAsync($"/api/flags/{real}/changes")).ReadJson();

        Assert.Equal(real, byId.GetProperty("id").GetString());
        Assert.Equal("real", byId.GetProperty("name").GetString());
        Assert.All(changes.GetProperty("items").EnumerateArray(), c => Assert.Equal(real, c.GetProperty("flagId").GetString()));
    }

    public static TheoryData<string> Disguised => ["\u202eniadraug", "ops\u0007", "\u2066isolated\u2069"];

    [Theory]
    [MemberData(nameof(Disguised))]
    public async Task ChangedBy_FromHeaderQueryOrBody_GetsTheSameTextChecks(string disguised)
    {
        var id = (await CreateAsync(new { name = "changed-by-" + Math.Abs(disguised.GetHashCode() % 100000) })).GetProperty("id").GetString()!;

        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/flags/{id}") { Content = JsonContent.Create(new { description = "x" }) };
        patch.Headers.TryAddWithoutValidation("X-Changed-By", disguised);
        await AssertInvalidAsync(await _http.SendAsync(patch), "X-Changed-By");

        using var delete = new HttpRequestMessage(HttpMethod.Delete, $"/api/flags/{id}");
        delete.Headers.TryAddWithoutValidation("X-Changed-By", disguised);
        await AssertInvalidAsync(await _http.SendAsync(delete), "X-Changed-By");

        using var import = new HttpRequestMessage(HttpMethod.Post, "/api/flags/import")
        {
            Content = new StringContent("""{"flags":{"imported":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}""", Encoding.UTF8, "application/json"),
        };
        import.Headers.TryAddWithoutValidation("X-Changed-By", disguised);
        await AssertInvalidAsync(await _http.SendAsync(import), "X-Changed-By");

        await AssertInvalidAsync(await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { changedBy = disguised }), "changedBy");
        Assert.Equal(HttpStatusCode.OK, (await _http.PutAsJsonAsync($"/api/flags/{id}/rollout", new { })).StatusCode);
        await AssertInvalidAsync(await _http.PostAsync($"/api/flags/{id}/rollout/start?changedBy={Uri.EscapeDataString(disguised)}", null), "changedBy");
        await AssertInvalidAsync(await _http.PostJson($"/api/flags/{id}/schedules",
            new { action = "enable", at = DateTimeOffset.UtcNow.AddHours(1), changedBy = disguised }), "changedBy");

        var log = await (await _http.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        Assert.All(log.GetProperty("items").EnumerateArray(), c => Assert.Equal("api", c.GetProperty("changedBy").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync($"/api/flags/{id}")).StatusCode);
    }

    [Fact]
    public async Task RecordChange_LogsTheFlagsEnvironment_AndRefusesABodyThatNamesAnother()
    {
        var id = (await CreateAsync(new { name = "prod-change", targetEnvironment = "production" })).GetProperty("id").GetString()!;

        var disguised = await _http.PostJson("/api/flags/change",
            new { flagId = id, changeType = "enabled", newValue = new { enabled = true }, environment = "development" });
        await AssertInvalidAsync(disguised, "environment");

        var named = await _http.PostJson("/api/flags/change",
            new { flagId = id, changeType = "enabled", newValue = new { enabled = true }, environment = "production" });
        var unnamed = await _http.PostJson("/api/flags/change",
            new { flagId = id, changeType = "disabled", newValue = new { enabled = false } });

        Assert.Equal("production", (await named.ReadJson()).GetProperty("change").GetProperty("environment").GetString());
        Assert.Equal("production", (await unnamed.ReadJson()).GetProperty("change").GetProperty("environment").GetString());
        var production = await (await _http.GetAsync($"/api/flags/changes?environment=production&flagId={id}")).ReadJson();
        Assert.Equal(3, production.GetProperty("items").GetArrayLength()); // created, enabled, disabled
        var development = await (await _http.GetAsync($"/api/flags/changes?environment=development&flagId={id}")).ReadJson();
        Assert.Equal(0, development.GetProperty("items").GetArrayLength());
    }
}
