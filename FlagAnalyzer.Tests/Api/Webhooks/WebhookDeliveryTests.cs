using System.Net;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Webhooks;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Api.Webhooks;

/// <summary>Deliveries to a real receiver on 127.0.0.1: signatures, retries, order, disabling, redelivery, the rebinding check.</summary>
public sealed class WebhookDeliveryTests : IAsyncDisposable
{
    private const string Secret = "whsec-delivery-0123456789abcdef";
    private readonly ApiFactory _factory = new();
    private readonly WebhookReceiver _receiver = new();
    private readonly HttpClient _api;

    /// <summary>PostgreSQL requires <c>Webhooks:SecretKey</c> (replicas share it); SQLite tests use the generated key file.</summary>
    public const string TestSecretKey = "test-webhook-secret-key-0123456789";

    public WebhookDeliveryTests()
    {
#if POSTGRES
        _factory.Settings["Webhooks:SecretKey"] = TestSecretKey;
#endif
        _factory.Settings["Webhooks:AllowPrivateTargets"] = "true";
        _factory.Settings["Webhooks:PublicBaseUrl"] = "https://flags.example.com";
        _factory.Settings["Webhooks:DisableAfterFailures"] = "3";
        _factory.Settings["Webhooks:MaxAttempts"] = "10";
        _api = _factory.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _factory.Dispose();
    }

    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];

    private async Task<Webhook> HookAsync(string[] events, string format = "json") =>
        await (await _api.PostJson("/api/webhooks", new { url = _receiver.Url, events, secret = Secret, format })).ReadAs<Webhook>();

    private async Task<List<WebhookDelivery>> DeliveriesAsync(string id) =>
        (await (await _api.GetAsync($"/api/webhooks/{id}/deliveries?limit=500")).ReadAs<Page<WebhookDelivery>>()).Items.ToList();

    [Fact]
    public async Task FlagCreated_IsDeliveredSigned_WithFlagRevisionAndLink()
    {
        var hook = await HookAsync(["flag.created"]);
        var flag = await (await _api.PostJson("/api/flags", new { name = Name("signed") })).ReadAs<Flag>();

        var got = await _receiver.NextAsync();
        Assert.True(WebhookReceiver.Verify(Secret, got.Body, got.Signature), got.Signature);
        Assert.False(WebhookReceiver.Verify("another-secret-0123456789", got.Body, got.Signature));
        var json = got.Json;
        Assert.Equal("flag.created", json.GetProperty("type").GetString());
        Assert.Equal(flag.Key, json.GetProperty("flag").GetProperty("key").GetString());
        Assert.Equal(flag.Name, json.GetProperty("flag").GetProperty("name").GetString());
        Assert.True(json.GetProperty("revision").GetInt64() > 0);
        Assert.Equal(flag.TargetEnvironment, json.GetProperty("environment").GetString());
        Assert.Equal($"https://flags.example.com/ui/flags/{flag.Id}", json.GetProperty("link").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("actor").GetString()));

        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).SingleOrDefault()?.State == "delivered", Wait.Arrival));
        var log = (await DeliveriesAsync(hook.Id)).Single();
        var attempt = Assert.Single(log.AttemptLog);
        Assert.Equal(200, attempt.StatusCode);
        Assert.True(attempt.DurationMs > 0);
    }

    [Fact]
    public async Task Receiver500_GetsTheEventAgain_FirstRetryWithin10s_EveryAttemptLogged()
    {
        _receiver.Answer = n => n == 0 ? 500 : 200;
        var hook = await HookAsync(["flag.created"]);
        await _api.PostJson("/api/flags", new { name = Name("retried") });

        var first = await _receiver.NextAsync();
        var second = await _receiver.NextAsync();
        Assert.Equal(500, first.AnsweredWith);
        Assert.Equal(first.Json.GetProperty("id").GetString(), second.Json.GetProperty("id").GetString());
        Assert.True(WebhookReceiver.Verify(Secret, second.Body, second.Signature));

        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).Single().State == "delivered", Wait.Arrival));
        var d = (await DeliveriesAsync(hook.Id)).Single();
        Assert.Equal([500L, 200L], d.AttemptLog.Select(a => a.StatusCode ?? 0).ToArray());
        Assert.True(d.AttemptLog[1].At - d.AttemptLog[0].At < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task EventsOfOneWebhook_ArriveInRevisionOrder_ANextOneWaitsForAFailedOne()
    {
        _receiver.Answer = n => n < 2 ? 503 : 200; // the first event fails twice while the others queue behind it
        var hook = await HookAsync(["flag.created", "flag.changed"]);
        var flag = await (await _api.PostJson("/api/flags", new { name = Name("ordered") })).ReadAs<Flag>();
        for (var i = 1; i <= 5; i++)
            (await _api.PatchAsync($"/api/flags/{flag.Id}", new StringContent($$"""{"rolloutPercentage":{{i * 10}}}""",
                System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

        var revisions = new List<long>();
        var delivered = new List<long>();
        while (delivered.Count < 6)
        {
            var got = await _receiver.NextAsync();
            var rev = got.Json.GetProperty("revision").GetInt64();
            revisions.Add(rev);
            if (got.AnsweredWith == 200) delivered.Add(rev);
        }
        Assert.Equal(delivered.Order().ToList(), delivered);
        Assert.Equal(delivered.Distinct().Count(), delivered.Count);
        // nothing after the first event was sent before it succeeded
        Assert.Equal(delivered[0], revisions[0]);
        Assert.Equal(delivered[0], revisions[1]);
        Assert.Equal(delivered[0], revisions[2]);
    }

    [Fact]
    public async Task WebhookIsDisabled_AfterARunOfFailures_AndShownSo()
    {
        _receiver.Answer = _ => 500;
        var hook = await HookAsync(["flag.created"]);
        await _api.PostJson("/api/flags", new { name = Name("failing") });

        Assert.True(await Wait.Until(async () => !(await (await _api.GetAsync($"/api/webhooks/{hook.Id}")).ReadAs<Webhook>()).Enabled, Wait.Arrival));
        var shown = await (await _api.GetAsync($"/api/webhooks/{hook.Id}")).ReadAs<Webhook>();
        Assert.Equal(3, shown.ConsecutiveFailures);
        Assert.Contains("3", shown.DisabledReason);
        var d = (await DeliveriesAsync(hook.Id)).Single();
        Assert.Equal(3, d.AttemptLog.Count);
        Assert.All(d.AttemptLog, a => Assert.Equal(500, a.StatusCode));
        Assert.Equal("pending", d.State);

        // re-enabled, the waiting event goes out again
        _receiver.Answer = _ => 200;
        await _api.PatchAsync($"/api/webhooks/{hook.Id}", new StringContent("""{"enabled":true}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).Single().State == "delivered", Wait.Arrival));
    }

    [Fact]
    public async Task Redeliver_SendsTheSameEventAgain_As202()
    {
        var hook = await HookAsync(["flag.created"]);
        await _api.PostJson("/api/flags", new { name = Name("again") });
        var first = await _receiver.NextAsync();
        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).Single().State == "delivered", Wait.Arrival));
        var d = (await DeliveriesAsync(hook.Id)).Single();

        var response = await _api.PostAsync($"/api/webhooks/{hook.Id}/deliveries/{d.Id}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var again = await _receiver.NextAsync();
        Assert.Equal(first.Body, again.Body);
        Assert.True(WebhookReceiver.Verify(Secret, again.Body, again.Signature));
        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).Count(x => x.State == "delivered") == 2, Wait.Arrival));
    }

    [Fact]
    public async Task SlackFormat_PostsReadableText()
    {
        await HookAsync(["flag.changed"], "slack");
        var flag = await (await _api.PostJson("/api/flags", new { name = Name("slacky") })).ReadAs<Flag>();
        (await _api.PatchAsync($"/api/flags/{flag.Id}", new StringContent("""{"rolloutPercentage":25}""", System.Text.Encoding.UTF8, "application/json")))
            .EnsureSuccessStatusCode();
        var got = await _receiver.NextAsync();
        var props = got.Json.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["text"], props);
        var text = got.Json.GetProperty("text").GetString()!;
        Assert.Contains(flag.Name, text);
        Assert.Contains(flag.TargetEnvironment, text);
    }

    [Fact]
    public async Task EnvironmentFilter_SkipsOtherEnvironments()
    {
        var hook = await (await _api.PostJson("/api/webhooks", new
        {
            url = _receiver.Url, events = new[] { "flag.created" }, environments = new[] { "production" }, secret = Secret,
        })).ReadAs<Webhook>();
        await _api.PostJson("/api/flags", new { name = Name("staging"), targetEnvironment = "staging" });
        var prod = await (await _api.PostJson("/api/flags", new { name = Name("prod"), targetEnvironment = "production" })).ReadAs<Flag>();
        var got = await _receiver.NextAsync();
        Assert.Equal(prod.Id, got.Json.GetProperty("flag").GetProperty("id").GetString());
        Assert.True(await Wait.Until(async () => (await DeliveriesAsync(hook.Id)).Single().State == "delivered", Wait.Arrival));
    }

    [Fact]
    public async Task RolloutStarted_IsDeliveredAsRolloutUpdated_WithTheFlag()
    {
        await HookAsync(["rollout.updated"]);
        var flag = await (await _api.PostJson("/api/flags", new { name = Name("rollout"), targetEnvironment = "production" })).ReadAs<Flag>();
        (await _api.PutAsync($"/api/flags/{flag.Id}/rollout", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        (await _api.PostAsync($"/api/flags/{flag.Id}/rollout/start", null)).EnsureSuccessStatusCode();

        var states = new List<string>();
        while (!states.Contains("running"))
        {
            var got = await _receiver.NextAsync();
            var json = got.Json;
            Assert.Equal("rollout.updated", json.GetProperty("type").GetString());
            Assert.Equal(flag.Key, json.GetProperty("flag").GetProperty("key").GetString());
            Assert.Equal("production", json.GetProperty("environment").GetString());
            Assert.True(WebhookReceiver.Verify(Secret, got.Body, got.Signature));
            states.Add(json.GetProperty("data").GetProperty("plan").GetProperty("state").GetString()!);
        }
    }

    [Fact]
    public async Task InternalTarget_IsRefusedAgainAtDelivery_WhenPrivateTargetsAreNoLongerAllowed()
    {
        var hook = await HookAsync(["flag.created"]);
        _factory.Dispose();
        var strict = _factory.Restart();
        strict.Settings["Webhooks:AllowPrivateTargets"] = "false";
        using (strict)
        {
            var api = strict.CreateClient();
            await api.PostJson("/api/flags", new { name = Name("rebound") });
            Assert.True(await Wait.Until(async () =>
            {
                var page = await (await api.GetAsync($"/api/webhooks/{hook.Id}/deliveries")).ReadAs<Page<WebhookDelivery>>();
                return page.Items.SingleOrDefault()?.AttemptLog.Count > 0;
            }, Wait.Arrival));
            var d = (await (await api.GetAsync($"/api/webhooks/{hook.Id}/deliveries")).ReadAs<Page<WebhookDelivery>>()).Items.Single();
            Assert.Null(d.AttemptLog[0].StatusCode);
            Assert.Contains("internal", d.AttemptLog[0].Error);
            Assert.Empty(_receiver.All);
        }
    }
}
