using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>
/// What issue 23's attacker found at the door: failed-key throttling that locked out valid keys (and trusted no
/// proxy), an unchecked Host header (DNS rebinding), state-changing requests a cross-site form could send with auth
/// disabled, and OFREP evaluations counted as writes.
/// </summary>
public sealed class AccessHardeningTests
{
    private const string BadKey = "fa_abcdefgh_not-a-real-secret-at-all-0000000000000";

    /// <summary>A request from a given peer address through the real pipeline (TestServer has no sockets to set it).</summary>
    private static async Task<HttpContext> SendFromAsync(ApiFactory app, string peer, string? forwardedFor, string? key, string path = "/api/flags") =>
        await app.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = path;
            c.Connection.RemoteIpAddress = IPAddress.Parse(peer);
            if (forwardedFor is not null) c.Request.Headers["X-Forwarded-For"] = forwardedFor;
            if (key is not null) c.Request.Headers.Authorization = $"Bearer {key}";
        });

    [Fact]
    public async Task ThrottledAddress_StillServesValidKeys_AndRefusesBadAndAbsentOnes()
    {
        using var app = new ApiFactory { Settings = { ["Auth:FailedAttemptLimit"] = "3" } };
        var sdk = await app.CreateClient().CreateKeyAsync("viewer");

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++) statuses.Add((await SendFromAsync(app, "192.0.2.10", null, BadKey)).Response.StatusCode);
        var admin = await SendFromAsync(app, "192.0.2.10", null, TestKeys.Admin);
        var viewer = await SendFromAsync(app, "192.0.2.10", null, sdk.Secret);
        var absent = await SendFromAsync(app, "192.0.2.10", null, null);
        var elsewhere = await SendFromAsync(app, "192.0.2.11", null, BadKey);

        Assert.Equal([401, 401, 401, 429], statuses);
        Assert.Equal(200, admin.Response.StatusCode);
        Assert.Equal(200, viewer.Response.StatusCode);
        Assert.Equal(429, absent.Response.StatusCode);
        Assert.True(absent.Response.Headers.RetryAfter.Count > 0);
        Assert.Equal(401, elsewhere.Response.StatusCode);
    }

    [Fact]
    public async Task ForwardedFor_IsHonouredOnlyFromAConfiguredProxy()
    {
        using var app = new ApiFactory { Settings = { ["Auth:FailedAttemptLimit"] = "2", ["Auth:KnownProxies:0"] = "10.0.0.1" } };

        for (var i = 0; i < 3; i++) await SendFromAsync(app, "10.0.0.1", "203.0.113.5", BadKey);
        var sameClient = await SendFromAsync(app, "10.0.0.1", "203.0.113.5", BadKey);
        var otherClient = await SendFromAsync(app, "10.0.0.1", "203.0.113.6", BadKey);
        // not a known proxy: its header is ignored, so every "client" behind it is the one address 10.0.0.2
        for (var i = 0; i < 3; i++) await SendFromAsync(app, "10.0.0.2", $"198.51.100.{i}", BadKey);
        var spoofed = await SendFromAsync(app, "10.0.0.2", "198.51.100.99", BadKey);

        Assert.Equal(429, sameClient.Response.StatusCode);
        Assert.Equal(401, otherClient.Response.StatusCode);
        Assert.Equal(429, spoofed.Response.StatusCode);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:80")]
    [InlineData("localhost.evil.example")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task UnconfiguredHost_IsRefused_EvenWithAMatchingOrigin(string host)
    {
        using var app = new ApiFactory();
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri($"http://{host}") });
        client.DefaultRequestHeaders.Add("Origin", $"http://{host}");

        // DNS rebinding: the attacker's name now points here, so the page's Origin equals the Host it sends
        var negotiate = await client.PostAsync("/hubs/live/negotiate?negotiateVersion=1", null);
        var flags = await client.GetAsync("/api/flags");

        Assert.Equal(HttpStatusCode.BadRequest, negotiate.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, flags.StatusCode);
        Assert.Equal("application/problem+json", flags.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("localhost", null)]
    [InlineData("127.0.0.1:5080", null)]
    [InlineData("[::1]:5080", null)]
    [InlineData("web.localhost", null)]
    [InlineData("flags.example.com", "flags.example.com")]
    [InlineData("eu.flags.example.com:8443", "*.flags.example.com")]
    public async Task LoopbackAndConfiguredHosts_AreServed(string host, string? allowed)
    {
        using var app = new ApiFactory();
        if (allowed is not null) app.Settings["Auth:AllowedHosts:0"] = allowed;
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri($"http://{host}") });

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/flags")).StatusCode);
    }

    [Fact]
    public async Task AuthDisabled_StateChangesNeedJsonOrACustomHeader_SoACrossSiteFormCannotSendThem()
    {
        using var app = new ApiFactory { Settings = { ["Auth:Mode"] = "disabled" } };
        var client = app.CreateAnonymousClient();
        var id = (await (await client.PostJson("/api/flags", new { name = "csrf-target" })).ReadJson()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/flags/{id}/rollout", new { })).StatusCode);

        // what a <form method=post> on another site can send: no body, or a form/text body, and no custom header
        var bare = await client.PostAsync($"/api/flags/{id}/rollout/start", null);
        var form = await client.PostAsync($"/api/flags/{id}/rollout/start", new FormUrlEncodedContent([]));
        var text = await client.PostAsync($"/api/flags/{id}/rollout/start", new StringContent("x", Encoding.UTF8, "text/plain"));
        var delete = await client.DeleteAsync($"/api/flags/{id}");

        Assert.Equal(HttpStatusCode.Forbidden, bare.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, form.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, text.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal("pending", (await (await client.GetAsync($"/api/flags/{id}/rollout")).ReadJson()).GetProperty("plan").GetProperty("state").GetString());

        // what only a same-origin script (or a CORS-allowed one) can send
        using var start = new HttpRequestMessage(HttpMethod.Post, $"/api/flags/{id}/rollout/start");
        start.Headers.Add("X-Requested-With", "XMLHttpRequest");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(start)).StatusCode);
        var otlp = new ByteArrayContent(Google.Protobuf.MessageExtensions.ToByteArray(
            FlagAnalyzer.Tests.Unit.Telemetry.Otlp.Export(FlagAnalyzer.Tests.Unit.Telemetry.Otlp.Request("csrf-target", "on", DateTimeOffset.UtcNow, 5))));
        otlp.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/traces", otlp)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/ofrep/v1/evaluate/flags/csrf-target", new { context = new { targetingKey = "u" } })).StatusCode);
    }

    [Fact]
    public async Task OfrepEvaluations_AreReads_NotCountedByTheWriteLimiter()
    {
        using var app = new ApiFactory { Settings = { ["Auth:WriteBurst"] = "2", ["Auth:WritesPerSecond"] = "1" } };
        var admin = app.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJson("/api/flags", new { name = "read-not-write", enabled = true, rolloutPercentage = 100 })).StatusCode);
        var sdk = app.CreateClient().WithKey((await admin.CreateKeyAsync("sdk", "development")).Secret);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            statuses.Add((await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags/read-not-write", new { context = new { targetingKey = "u" } })).StatusCode);
            statuses.Add((await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { targetingKey = "u" } })).StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }
}
