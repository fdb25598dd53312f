using System.Net;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Tests.Api.Assistant;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>Keys, the answers to callers without the right key, and what they can learn.</summary>
public sealed class AccessApiTests : IDisposable
{
    private readonly LogRecorder _log = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _admin;

    public AccessApiTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<ILoggerProvider>(_log) };
        _admin = _app.CreateClient();
    }

    [Fact]
    public async Task NoKey_Is401ProblemJson_WithBearerChallenge()
    {
        var response = await _app.CreateAnonymousClient().GetAsync("/api/flags");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(401, (await response.ReadJson()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task CreatedKey_IsShownOnce_WorksAsBearerAndXApiKey()
    {
        var response = await _admin.PostJson("/api/keys", new { name = "ci", role = "viewer" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadJson();
        var secret = body.GetProperty("secret").GetString()!;
        var key = body.GetProperty("key");

        Assert.Matches("^fa_[0-9a-z]{8}_[A-Za-z0-9_-]{43}$", secret);
        Assert.Equal(secret[3..11], key.GetProperty("prefix").GetString());
        Assert.Equal("viewer", key.GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _app.CreateClient().WithKey(secret).GetAsync("/api/flags")).StatusCode);
        var viaHeader = _app.CreateAnonymousClient();
        viaHeader.DefaultRequestHeaders.Add("X-API-Key", secret);
        Assert.Equal(HttpStatusCode.OK, (await viaHeader.GetAsync("/api/flags")).StatusCode);
        var me = await (await viaHeader.GetAsync("/api/auth/me")).ReadJson();
        Assert.Equal((key.GetProperty("id").GetString(), "viewer", "enabled"),
            (me.GetProperty("keyId").GetString(), me.GetProperty("role").GetString(), me.GetProperty("authMode").GetString()));
    }

    [Fact]
    public async Task Secrets_AppearNowhere_InTheDatabaseFile_TheLogs_OrAnyLaterResponse()
    {
        var key = await _admin.CreateKeyAsync("editor", name: "secret-check");
        var editor = _app.CreateClient().WithKey(key.Secret);
        await (await editor.PostJson("/api/flags", new { name = "secret-check-flag" })).ReadAs<JsonElement>();
        await _app.CreateClient().WithKey(key.Secret + "x").GetAsync("/api/flags"); // a failed attempt is logged
        var later = new StringBuilder();
        foreach (var url in new[] { "/api/keys", "/api/keys/events", "/api/auth/me", "/health", "/api/flags/changes", "/" })
            later.Append(await (await editor.GetAsync(url)).Content.ReadAsStringAsync()).Append(await (await _admin.GetAsync(url)).Content.ReadAsStringAsync());
        await _admin.RevokeAsync(key.Id);

        var secretPart = key.Secret[12..];
        var files = await TestDatabase.RawContentsAsync(_app.DatabasePath);
        var logs = string.Join("\n", _log.Entries.Select(e => e.Message + e.Exception));
        foreach (var secret in new[] { secretPart, TestKeys.Admin })
        {
            Assert.All(files, f => Assert.DoesNotContain(secret, f));
            Assert.DoesNotContain(secret, logs);
            Assert.DoesNotContain(secret, later.ToString());
        }
        Assert.Contains(key.Id, logs); // the log does name the key that acted
    }

    [Fact]
    public async Task KeyCreationAndRevocation_AreAudited_WithTheActingKey()
    {
        var key = await _admin.CreateKeyAsync("ingest");
        await _admin.RevokeAsync(key.Id);

        var events = (await (await _admin.GetAsync("/api/keys/events")).ReadJson()).GetProperty("items").EnumerateArray()
            .Where(e => e.GetProperty("keyId").GetString() == key.Id).ToList();
        Assert.Equal(["revoked", "created"], events.Select(e => e.GetProperty("action").GetString()));
        Assert.All(events, e => Assert.Equal(AccessBootstrap.BootstrapKeyName, e.GetProperty("actorName").GetString()));
        Assert.All(events, e => Assert.StartsWith("key_", e.GetProperty("actorKeyId").GetString()));
    }

    [Fact]
    public async Task RevokedKey_Is401()
    {
        var key = await _admin.CreateKeyAsync("viewer");
        var client = _app.CreateClient().WithKey(key.Secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/flags")).StatusCode);

        await _admin.RevokeAsync(key.Id);

        var response = await client.GetAsync("/api/flags");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("revoked", (await response.ReadJson()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheLastActiveAdminKey_CannotBeRevoked()
    {
        var keys = await (await _admin.GetAsync("/api/keys")).ReadJson();
        var bootstrap = keys.GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == AccessBootstrap.BootstrapKeyName);

        var response = await _admin.PostAsync($"/api/keys/{bootstrap.GetProperty("id").GetString()}/revoke", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Theory]
    [InlineData("""{ "name": "x", "role": "owner" }""", "role")]
    [InlineData("""{ "role": "viewer" }""", "name")]
    [InlineData("""{ "name": "x", "role": "sdk" }""", "environment")]
    [InlineData("""{ "name": "x", "role": "viewer", "environment": "Prod Env!" }""", "environment")]
    public async Task CreateKey_NamesTheBadField(string json, string field)
    {
        var response = await _admin.PostRaw("/api/keys", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJson()).GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task FailedAttempts_FromOneAddress_Are429WithRetryAfter_AGoodKeyIsStillServed()
    {
        using var app = new ApiFactory { Settings = { ["Auth:FailedAttemptLimit"] = "3" } };
        var bad = app.CreateClient().WithKey("fa_abcdefgh_not-a-real-secret-at-all-0000000000000");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++) statuses.Add((await bad.GetAsync("/api/flags")).StatusCode);
        var blocked = await app.CreateAnonymousClient().GetAsync("/api/flags"); // no key from that address waits too
        var good = await app.CreateClient().GetAsync("/api/flags"); // issue 23: a valid key is not locked out with them

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.True(blocked.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateAnonymousClient().GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task Writes_AreRateLimitedPerKey_ReadsAreNot()
    {
        // one refill an hour: the three writes below cannot straddle a refill however slowly the machine runs
        using var app = new ApiFactory { Settings = { ["Auth:WriteBurst"] = "2", ["Auth:WritesPerSecond"] = "1", ["Auth:WriteRefillPeriod"] = "01:00:00" } };
        var admin = app.CreateClient();
        var other = await admin.CreateKeyAsync("editor"); // 1st write of the admin key

        var second = await admin.PostJson("/api/flags", new { name = "limited-1" });
        var third = await admin.PostJson("/api/flags", new { name = "limited-2" });
        var otherKey = await app.CreateClient().WithKey(other.Secret).PostJson("/api/flags", new { name = "limited-3" });

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.NotNull(third.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, otherKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/flags")).StatusCode);
    }

    [Theory]
    [InlineData("/api/metrics", "text/plain")]
    [InlineData("/api/metrics", null)]
    [InlineData("/api/flags", "application/x-www-form-urlencoded")]
    [InlineData("/api/chat", "text/plain")]
    public async Task JsonEndpoints_RefuseOtherBodies_With415(string url, string? contentType)
    {
        var content = new ByteArrayContent("""{"flagId":"x","errorRate":1,"latencyP50":1,"latencyP99":2,"requestCount":1}"""u8.ToArray());
        if (contentType is not null) content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        var response = await _admin.PostAsync(url, content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task BodylessPost_NeedsAKey()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateAnonymousClient().PostAsync("/api/analyze", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/api/analyze", null)).StatusCode);
    }

    [Theory]
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("https://ui.example:8443", HttpStatusCode.BadRequest)] // allowed: reaches /ws, which wants an upgrade
    [InlineData("http://localhost", HttpStatusCode.BadRequest)]       // same origin
    [InlineData(null, HttpStatusCode.BadRequest)]                     // no Origin: not a browser
    public async Task LiveEndpoints_CheckTheOrigin(string? origin, HttpStatusCode expected)
    {
        using var app = new ApiFactory { Settings = { ["Cors:AllowedOrigins:0"] = "https://ui.example:8443" } };
        foreach (var path in new[] { "/ws", "/hubs/live/negotiate?negotiateVersion=1" })
        {
            using var request = new HttpRequestMessage(path.StartsWith("/ws") ? HttpMethod.Get : HttpMethod.Post, path);
            if (origin is not null) request.Headers.Add("Origin", origin);
            var response = await app.CreateClient().SendAsync(request);
            if (expected == HttpStatusCode.Forbidden) Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            else Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        }
    }

    [Fact]
    public async Task Cors_AnswersOnlyTheAllowedOrigins()
    {
        using var app = new ApiFactory { Settings = { ["Cors:AllowedOrigins"] = "https://ui.example" } };
        async Task<string?> AllowedOrigin(string origin)
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/flags");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            var response = await app.CreateAnonymousClient().SendAsync(preflight);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var v) ? v.Single() : null;
        }

        Assert.Equal("https://ui.example", await AllowedOrigin("https://ui.example"));
        Assert.Null(await AllowedOrigin("https://evil.example"));
    }

#if !POSTGRES // names the sqlite health check and its file; PostgreSQL's is postgres (PostgresHealthTests)
    [Fact]
    public async Task Health_ShowsStatesToAnyone_DetailsOnlyWithAKey()
    {
        var anonymous = (await (await _app.CreateAnonymousClient().GetAsync("/health")).ReadJson()).GetProperty("checks");
        var withKey = (await (await _admin.GetAsync("/health")).ReadJson()).GetProperty("checks");
        var badKey = (await (await _app.CreateClient().WithKey("nonsense").GetAsync("/health")).ReadJson()).GetProperty("checks");

        Assert.Equal("Healthy", anonymous.GetProperty("sqlite").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, anonymous.GetProperty("sqlite").GetProperty("description").ValueKind);
        Assert.Equal(JsonValueKind.Null, badKey.GetProperty("sqlite").GetProperty("description").ValueKind);
        Assert.Contains(_app.DatabasePath, withKey.GetProperty("sqlite").GetProperty("description").GetString());
    }
#endif

    [Fact]
    public async Task UiResponses_CarryTheBrowserHardeningHeaders()
    {
        var response = await _app.CreateAnonymousClient().GetAsync("/ui/");
        string H(string name) => string.Join(",", response.Headers.TryGetValues(name, out var v) ? v : response.Content.Headers.TryGetValues(name, out var c) ? c : []);

        Assert.Contains("script-src 'self'", H("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", H("Content-Security-Policy"));
        Assert.DoesNotContain("unsafe-inline", H("Content-Security-Policy").Split(';').Single(d => d.Trim().StartsWith("script-src")));
        Assert.Equal("nosniff", H("X-Content-Type-Options"));
        Assert.Equal("no-referrer", H("Referrer-Policy"));
    }

    public void Dispose() => _app.Dispose();
}
