using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>Input that used to be stored, or answered with the wrong field, now is a 400 naming what is wrong.</summary>
public sealed class ValidationGapsTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public ValidationGapsTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    private static async Task<Dictionary<string, string[]>> Errors(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(m => m.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("nl-flag\n", "name")]
    [InlineData("nl-flag\r\n", "name")]
    [InlineData(".", "name")]
    [InlineData("..", "name")]
    public async Task CreateFlag_UnreachableOrTrailingNewlineName_Is400(string name, string field)
    {
        Assert.Equal([field], (await Errors(await _client.PostJson("/api/flags", new { name }))).Keys);
        Assert.Empty((await (await _client.GetAsync("/api/flags")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Environment_WithTrailingNewline_Is400_OnCreatePatchAndChange()
    {
        Assert.Equal(["targetEnvironment"], (await Errors(await _client.PostJson("/api/flags", new { name = "env-nl", targetEnvironment = "production\n" }))).Keys);
        var flag = await (await _client.PostJson("/api/flags", new { name = "env-ok", targetEnvironment = "production" })).ReadAs<Flag>();
        Assert.Equal(["targetEnvironment"], (await Errors(await _client.PatchAsync($"/api/flags/{flag.Id}", Json(new { targetEnvironment = "staging\n" })))).Keys);
        Assert.Equal(["environment"], (await Errors(await _client.PostJson("/api/flags/change",
            new { flagId = flag.Id, changeType = "enabled", newValue = new { enabled = true }, environment = "production\n" }))).Keys);
        Assert.Single((await (await _client.GetAsync("/api/flags?environment=production")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("owner", "team\u0000x")]
    [InlineData("owner", "team\u001b[31mred")]
    [InlineData("owner", "evil\u202Egnp.exe")]
    [InlineData("owner", "isolate\u2066x\u2069")]
    [InlineData("owner", "two\nlines")]
    [InlineData("description", "bell\u0007")]
    [InlineData("description", "\u202Ereversed")]
    [InlineData("changedBy", "me\u0000")]
    public async Task ControlAndBidiCharacters_Are400_OnCreateAndPatch(string field, string value)
    {
        var create = new Dictionary<string, object> { ["name"] = "ctl", [field] = value };
        Assert.Equal([field], (await Errors(await _client.PostJson("/api/flags", create))).Keys);

        var flag = await (await _client.PostJson("/api/flags", new { name = "ctl-ok" })).ReadAs<Flag>();
        Assert.Equal([field], (await Errors(await _client.PatchAsync($"/api/flags/{flag.Id}", Json(new Dictionary<string, object> { [field] = value })))).Keys);
    }

    [Fact]
    public async Task Description_KeepsLineBreaksAndTabs()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "multi", description = "line one\nline two\r\n\tindented" })).ReadAs<Flag>();
        Assert.Equal("line one\nline two\r\n\tindented", flag.Description);
    }

    [Fact]
    public async Task ChangedByOver200Characters_Is400_OnCreatePatchAndChange()
    {
        var tooLong = new string('a', 201);
        Assert.Equal(["changedBy"], (await Errors(await _client.PostJson("/api/flags", new { name = "who", changedBy = tooLong }))).Keys);
        var flag = await (await _client.PostJson("/api/flags", new { name = "who-ok" })).ReadAs<Flag>();
        Assert.Equal(["changedBy"], (await Errors(await _client.PatchAsync($"/api/flags/{flag.Id}", Json(new { enabled = true, changedBy = tooLong })))).Keys);
        Assert.Equal(["changedBy"], (await Errors(await _client.PostJson("/api/flags/change",
            new { flagId = flag.Id, changeType = "enabled", newValue = new { enabled = true }, changedBy = tooLong }))).Keys);
    }

    [Theory]
    [InlineData("/api/flags?limit=abc", "limit")]
    [InlineData("/api/flags?limit=1e9", "limit")]
    [InlineData("/api/flags?limit=5&limit=6", "limit")]
    [InlineData("/api/flags?enabled=maybe", "enabled")]
    [InlineData("/api/flags/changes?limit=x", "limit")]
    [InlineData("/api/predictions?limit=-", "limit")]
    [InlineData("/api/anomalies?limit=1.5", "limit")]
    public async Task QueryStringTypeError_Is400NamingTheParameter(string url, string parameter)
    {
        var errors = await Errors(await _client.GetAsync(url));
        Assert.Equal([parameter], errors.Keys);
        Assert.DoesNotContain("JSON body", string.Join(" ", errors[parameter]));
    }

    [Fact]
    public async Task MetricsQueryStringTypeError_Is400NamingTheParameter()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "q" })).ReadAs<Flag>();
        Assert.Equal(["since"], (await Errors(await _client.GetAsync($"/api/flags/{flag.Id}/metrics?since=garbage"))).Keys);
        Assert.Equal(["until"], (await Errors(await _client.GetAsync($"/api/flags/{flag.Id}/metrics?until=2026-13-45"))).Keys);
        Assert.Equal(["limit"], (await Errors(await _client.GetAsync($"/api/flags/{flag.Id}/metrics?limit=ten"))).Keys);
    }

    [Fact]
    public async Task MissingJsonBody_StillSaysABodyIsRequired()
    {
        var response = await _client.PostAsync("/api/flags", new StringContent("", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(["$"], (await Errors(response)).Keys);
    }

    private static StringContent Json(object o) =>
        new(JsonSerializer.Serialize(o, ApiFactory.JsonOptions), System.Text.Encoding.UTF8, "application/json");
}
