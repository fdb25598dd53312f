using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Webhooks;

namespace FlagAnalyzer.Tests.Api.Webhooks;

/// <summary>The webhooks resource: every status and refusal, SSRF with private targets not allowed (the default).</summary>
public sealed class WebhooksApiTests : IDisposable
{
    private const string Secret = "whsec-test-0123456789abcdef";
    private readonly ApiFactory _factory = new();
    private readonly HttpClient _api;

    public WebhooksApiTests()
    {
#if POSTGRES
        _factory.Settings["Webhooks:SecretKey"] = WebhookDeliveryTests.TestSecretKey;
#endif
        _api = _factory.CreateClient();
    }

    public void Dispose() => _factory.Dispose();

    private static object Valid(string url = "https://example.com/hook") => new { url, events = new[] { "flag.changed" }, secret = Secret };

    [Fact]
    public async Task Create_Returns201_AndNeverTheSecret()
    {
        var response = await _api.PostJson("/api/webhooks", new
        {
            url = "https://example.com/hook", events = new[] { "flag.changed", "rollout.updated" }, environments = new[] { "production" },
            secret = Secret, format = "slack",
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Secret, body);
        var created = JsonSerializer.Deserialize<Webhook>(body, ApiFactory.JsonOptions)!;
        Assert.Equal(["flag.changed", "rollout.updated"], created.Events);
        Assert.Equal(["production"], created.Environments!);
        Assert.Equal("slack", created.Format);
        Assert.True(created.Enabled);

        var one = await _api.GetStringAsync($"/api/webhooks/{created.Id}");
        Assert.DoesNotContain(Secret, one);
        var list = await _api.GetStringAsync("/api/webhooks");
        Assert.Contains(created.Id, list);
        Assert.DoesNotContain(Secret, list);
    }

    public static TheoryData<string, string> BadBodies() => new()
    {
        { """{"events":["flag.changed"],"secret":"whsec-test-0123456789abcdef"}""", "url" },
        { """{"url":"not a url","events":["flag.changed"],"secret":"whsec-test-0123456789abcdef"}""", "url" },
        { """{"url":"ftp://example.com/x","events":["flag.changed"],"secret":"whsec-test-0123456789abcdef"}""", "url" },
        { """{"url":"https://example.com/x","events":[],"secret":"whsec-test-0123456789abcdef"}""", "events" },
        { """{"url":"https://example.com/x","events":["flag.exploded"],"secret":"whsec-test-0123456789abcdef"}""", "events" },
        { """{"url":"https://example.com/x","events":["change_request.approved"],"secret":"whsec-test-0123456789abcdef"}""", "events" },
        { """{"url":"https://example.com/x","events":["flag.changed"]}""", "secret" },
        { """{"url":"https://example.com/x","events":["flag.changed"],"secret":"short"}""", "secret" },
        { """{"url":"https://example.com/x","events":["flag.changed"],"secret":"whsec-test-0123456789abcdef","format":"xml"}""", "format" },
        { """{"url":"https://example.com/x","events":["flag.changed"],"secret":"whsec-test-0123456789abcdef","environments":["Prod!"]}""", "environments" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Create_RefusesBadField_With400NamingIt(string json, string field)
    {
        var response = await _api.PostRaw("/api/webhooks", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://172.20.0.5/hook")]
    [InlineData("http://192.168.1.10/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://100.100.100.200/latest")]
    [InlineData("http://0.0.0.0/")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[fe80::1]/hook")]
    [InlineData("http://[fd00:ec2::254]/latest")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    public async Task CreateAndPatch_RefuseInternalTargets_With400NamingUrl(string url)
    {
        var response = await _api.PostJson("/api/webhooks", Valid(url));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty("url", out _));

        var created = await (await _api.PostJson("/api/webhooks", Valid())).ReadAs<Webhook>();
        var patch = await _api.PatchAsync($"/api/webhooks/{created.Id}", JsonContent(new { url }));
        Assert.Equal(HttpStatusCode.BadRequest, patch.StatusCode);
        Assert.True((await patch.ReadJson()).GetProperty("errors").TryGetProperty("url", out _));
        Assert.Equal("https://example.com/hook", (await (await _api.GetAsync($"/api/webhooks/{created.Id}")).ReadAs<Webhook>()).Url);
    }

    [Fact]
    public async Task Patch_ChangesFields_AndDisableReenable()
    {
        var created = await (await _api.PostJson("/api/webhooks", Valid())).ReadAs<Webhook>();
        var patched = await (await _api.PatchAsync($"/api/webhooks/{created.Id}",
            JsonContent(new { events = new[] { "flag.created", "anomaly.opened" }, format = "slack", enabled = false }))).ReadAs<Webhook>();
        Assert.Equal(["flag.created", "anomaly.opened"], patched.Events);
        Assert.Equal("slack", patched.Format);
        Assert.False(patched.Enabled);
        Assert.NotNull(patched.DisabledReason);
        var again = await (await _api.PatchAsync($"/api/webhooks/{created.Id}", JsonContent(new { enabled = true }))).ReadAs<Webhook>();
        Assert.True(again.Enabled);
        Assert.Null(again.DisabledReason);

        var bad = await _api.PatchAsync($"/api/webhooks/{created.Id}", JsonContent(new { format = "xml" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Delete_Returns204_ThenUnknownIdsAre404()
    {
        var created = await (await _api.PostJson("/api/webhooks", Valid())).ReadAs<Webhook>();
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/api/webhooks/{created.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/api/webhooks/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.DeleteAsync($"/api/webhooks/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PatchAsync($"/api/webhooks/{created.Id}", JsonContent(new { enabled = true }))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/api/webhooks/{created.Id}/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PostAsync($"/api/webhooks/{created.Id}/deliveries/whd_x/redeliver", null)).StatusCode);
    }

    [Fact]
    public async Task Deliveries_UnknownDelivery404_BadCursor400()
    {
        var created = await (await _api.PostJson("/api/webhooks", Valid())).ReadAs<Webhook>();
        Assert.Equal(HttpStatusCode.NotFound, (await _api.PostAsync($"/api/webhooks/{created.Id}/deliveries/whd_nope/redeliver", null)).StatusCode);
        var bad = await _api.GetAsync($"/api/webhooks/{created.Id}/deliveries?cursor=!!!");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var badLimit = await _api.GetAsync($"/api/webhooks/{created.Id}/deliveries?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.True((await badLimit.ReadJson()).GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task WithoutAdminKey_Refused()
    {
        var anonymous = _factory.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/webhooks")).StatusCode);
        var editorKey = (await (await _api.PostJson("/api/keys", new { name = "ed", role = "editor" })).ReadJson()).GetProperty("secret").GetString();
        var editor = _factory.CreateClient();
        editor.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", editorKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostJson("/api/webhooks", Valid())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.GetAsync("/api/webhooks")).StatusCode);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, ApiFactory.JsonOptions), System.Text.Encoding.UTF8, "application/json");
}
