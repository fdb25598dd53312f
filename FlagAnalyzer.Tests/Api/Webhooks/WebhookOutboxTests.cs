using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Webhooks;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Webhooks;

/// <summary>
/// Issue 27 item 2's gaps, against a real receiver on 127.0.0.1: notices (anomaly, rollout, change-request events) through
/// the durable outbox, at least once and only when committed; order per webhook with concurrent writers; secrets sealed at
/// rest; the chat text of a guardian rollback.
/// </summary>
public sealed class WebhookOutboxTests : IAsyncDisposable
{
    private const string Secret = "whsec-outbox-0123456789abcdef";
    private ApiFactory _factory = new();
    private readonly WebhookReceiver _receiver = new();
    private HttpClient _api;

    public WebhookOutboxTests()
    {
        _factory.Settings["Webhooks:AllowPrivateTargets"] = "true";
        _factory.Settings["Webhooks:PublicBaseUrl"] = "https://flags.example.com";
#if POSTGRES
        _factory.Settings["Webhooks:SecretKey"] = WebhookDeliveryTests.TestSecretKey;
#endif
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

    private static NoticeEvent Notice(string type, string label) => new(type, "production", "flag-x", "checkout", "Checkout", "alice",
        JsonSerializer.SerializeToElement(new { label }), DateTimeOffset.UtcNow);

    /// <summary>Enlists one notice in a write transaction of the app's own database, committed or rolled back.</summary>
    private async Task EnlistAsync(NoticeEvent notice, bool commit = true)
    {
        var outbox = _factory.Services.GetRequiredService<IEventOutbox>();
        await using var s = await _factory.Services.GetRequiredService<Db>().BeginWriteAsync(WriteLock.None);
        await outbox.EnlistAsync(s.Connection, s.Transaction, notice, CancellationToken.None);
        if (commit) await s.CommitAsync();
    }

    private static async Task<string?> StoredSecretAsync(string databasePath, string id)
    {
        await using var conn = await TestDatabase.OpenAsync(databasePath);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT secret FROM webhooks WHERE id = @id";
        var p = cmd.CreateParameter();
        p.ParameterName = "id";
        p.Value = id;
        cmd.Parameters.Add(p);
        return (string?)await cmd.ExecuteScalarAsync();
    }

    [Fact]
    public async Task Notice_IsDeliveredOnlyWhenItsTransactionCommits()
    {
        await HookAsync(["change_request.created", "change_request.decided"]);
        await EnlistAsync(Notice("change_request.created", "rolled back"), commit: false);
        await EnlistAsync(Notice("change_request.decided", "first committed"));
        await EnlistAsync(Notice("change_request.created", "second committed"));

        var first = await _receiver.NextAsync();
        var second = await _receiver.NextAsync();
        Assert.Equal(["first committed", "second committed"], new[] { first, second }.Select(h => h.Json.GetProperty("data").GetProperty("label").GetString()));
        Assert.Equal("change_request.decided", first.EventType);
        Assert.True(WebhookReceiver.Verify(Secret, first.Body, first.Signature));
        var json = first.Json;
        Assert.Equal("checkout", json.GetProperty("flag").GetProperty("key").GetString());
        Assert.Equal("Checkout", json.GetProperty("flag").GetProperty("name").GetString());
        Assert.Equal("production", json.GetProperty("environment").GetString());
        Assert.Equal("alice", json.GetProperty("actor").GetString());
        Assert.Equal("https://flags.example.com/ui/flags/flag-x", json.GetProperty("link").GetString());
        Assert.True(second.Json.GetProperty("sequence").GetInt64() > json.GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task NoticeCommittedByAProcessThatDiedBeforeQueueingIt_IsDeliveredByTheNextOne()
    {
        var hook = await HookAsync(["anomaly.opened"]);
        _factory.Dispose();
        // the app is gone: a notice committed now is what a crash between the commit and the pump leaves behind
        var db = new Db(_factory.Settings["ConnectionStrings:flagdb"]!);
        await using (var s = await db.BeginWriteAsync(WriteLock.None))
        {
            await WebhookStore.EnlistNoticeAsync(s.Connection, s.Transaction, new NoticeRow
            {
                Type = "anomaly.opened", Environment = "production", FlagId = "flag-y", FlagKey = "search", FlagName = "Search", Actor = "detector",
                Data = """{"message":"error rate doubled"}""", At = Time.ToMs(DateTimeOffset.UtcNow),
            }, CancellationToken.None);
            await s.CommitAsync();
        }
        _factory = _factory.Restart();
        _api = _factory.CreateClient();

        var got = await _receiver.NextAsync();
        Assert.Equal("anomaly.opened", got.EventType);
        Assert.Equal("search", got.Json.GetProperty("flag").GetProperty("key").GetString());
        Assert.Equal("Anomaly on Search in production: error rate doubled", got.Json.GetProperty("text").GetString());
        Assert.True(await Wait.Until(async () =>
            (await (await _api.GetAsync($"/api/webhooks/{hook.Id}/deliveries")).ReadAs<Page<WebhookDelivery>>()).Items.SingleOrDefault()?.State == "delivered",
            Wait.Arrival));
    }

    [Fact]
    public async Task AnomalyOpenedThenResolved_AreDeliveredFromTheDetectionsTransactions()
    {
        await HookAsync(["anomaly.opened", "anomaly.resolved"]);
        var analysis = new AnalysisClient(_api);
        var name = Name("hook-spike");
        var id = await analysis.CreateFlagAsync(name);
        await analysis.SendBaselineAsync(id);
        await analysis.RollOutAsync(id, 10);
        await analysis.SendAsync(id, 3, errorRate: 2.5);
        await analysis.SendAsync(id, 3, errorRate: 1.0);

        var opened = await _receiver.NextAsync();
        var resolved = await _receiver.NextAsync();
        Assert.Equal("anomaly.opened", opened.EventType);
        Assert.Equal("anomaly.resolved", resolved.EventType);
        Assert.Equal(opened.Json.GetProperty("data").GetProperty("id").GetString(), resolved.Json.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("resolved", resolved.Json.GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(name, opened.Json.GetProperty("flag").GetProperty("name").GetString());
        Assert.Equal("production", opened.Json.GetProperty("environment").GetString());
        Assert.Equal("detector", opened.Json.GetProperty("actor").GetString());
        Assert.Equal($"https://flags.example.com/ui/flags/{id}", opened.Json.GetProperty("link").GetString());
    }

    [Fact]
    public async Task GuardianRollback_SlackMessageReadsLikeTheIssue()
    {
        await HookAsync(["flag.changed"], "slack");
        var analysis = new AnalysisClient(_api);
        var name = Name("hook-guardian");
        var id = await analysis.CreateFlagAsync(name, autoRollback: true);
        await analysis.SendBaselineAsync(id);
        await analysis.RollOutAsync(id, 25);
        await analysis.SendAsync(id, 3, errorRate: 4);

        string text;
        do text = (await _receiver.NextAsync()).Json.GetProperty("text").GetString()!;
        while (!text.Contains("rolled back"));
        // "Guardian rolled back checkout in production at 25 %: error_rate 0.9 % → 2.2 %"
        Assert.Matches(new Regex($@"^Guardian rolled back {Regex.Escape(name)} in production at 25 %: error_rate \d+(\.\d+)? % → \d+(\.\d+)? %$"), text);
    }

    [Theory]
    [InlineData("Auto-rollback on error_spike anm_1: error rate 0.90% → 2.20% (+144%), severity high, confidence 99.9%; rollout was 25%.",
        "error_rate 0.9 % → 2.2 %")]
    [InlineData("Rolled back at stage 3 (25 %): error_rate 0.9 % (control) → 2.2 % (treatment) (+144 %), a high regression with confidence 99 %; 9,000 treatment and 9,000 control requests since the plan started.",
        "error_rate 0.9 % → 2.2 %")]
    [InlineData("Auto-rollback on latency_spike anm_2: P99 latency 400 ms → 950.5 ms (+138%), severity critical.", "latency_p99 400 ms → 950.5 ms")]
    [InlineData("Rolled back by hand.", null)]
    public void GuardianEvidence_IsTheMetricAndItsMove(string reason, string? expected) =>
        Assert.Equal(expected, WebhookPayloads.Evidence(reason));

    [Fact]
    public async Task ConcurrentWriters_OneWebhookGetsFlagEventsInRevisionOrder_AndNoticesInEnlistmentOrder_EachOnce()
    {
        await HookAsync(["flag.changed", "change_request.created"]);
        var flags = new List<Flag>();
        for (var i = 0; i < 2; i++) flags.Add(await (await _api.PostJson("/api/flags", new { name = Name($"race{i}") })).ReadAs<Flag>());
        const int perWriter = 12;
        var writers = flags.Select(f => Task.Run(async () =>
        {
            for (var n = 1; n <= perWriter; n++)
                (await _api.PatchAsync($"/api/flags/{f.Id}", new StringContent($$"""{"rolloutPercentage":{{n}}}""", System.Text.Encoding.UTF8, "application/json")))
                    .EnsureSuccessStatusCode();
        })).Concat(Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var n = 0; n < perWriter; n++) await EnlistAsync(Notice("change_request.created", $"{w}-{n}"));
        }))).ToList();
        await Task.WhenAll(writers);

        var revisions = new List<long>();
        var sequences = new List<long>();
        while (revisions.Count < 2 * perWriter || sequences.Count < 2 * perWriter)
        {
            var got = await _receiver.NextAsync();
            if (got.EventType == "flag.changed") revisions.Add(got.Json.GetProperty("revision").GetInt64());
            else sequences.Add(got.Json.GetProperty("sequence").GetInt64());
        }
        Assert.Equal(revisions.Order().Distinct(), revisions);
        Assert.Equal(sequences.Order().Distinct(), sequences);
        Assert.Equal(2 * perWriter, revisions.Count);
        Assert.Equal(2 * perWriter, sequences.Count);
    }

    [Fact]
    public async Task Secret_IsStoredEncrypted_ItsRowBound_AndStillSignsDeliveries()
    {
        var hook = await HookAsync(["flag.created"]);
        var stored = await StoredSecretAsync(_factory.DatabasePath, hook.Id);
        Assert.NotNull(stored);
        Assert.DoesNotContain(Secret, stored);
        Assert.StartsWith("v1.", stored);
        var secrets = _factory.Services.GetRequiredService<WebhookSecrets>();
        Assert.Equal(Secret, secrets.Open(hook.Id, stored!));
        Assert.Null(secrets.Open("wh_another", stored!));

        await _api.PostJson("/api/flags", new { name = Name("sealed") });
        var got = await _receiver.NextAsync();
        Assert.True(WebhookReceiver.Verify(Secret, got.Body, got.Signature));
    }

    [Fact]
    public async Task ClearSecretFromBeforeEncryption_IsEncryptedAtStart_Once()
    {
        var hook = await HookAsync(["flag.created"]);
        _factory.Dispose();
        await TestDatabase.ExecuteAsync(_factory.DatabasePath, "UPDATE webhooks SET secret = @s, secret_sealed = @no WHERE id = @id",
            ("s", Secret), ("no", false), ("id", hook.Id));

        _factory = _factory.Restart();
        _api = _factory.CreateClient();
        var sealedOnce = await StoredSecretAsync(_factory.DatabasePath, hook.Id);
        Assert.StartsWith("v1.", sealedOnce);
        await _api.PostJson("/api/flags", new { name = Name("upgraded") });
        var got = await _receiver.NextAsync();
        Assert.True(WebhookReceiver.Verify(Secret, got.Body, got.Signature));

        _factory.Dispose();
        _factory = _factory.Restart();
        _api = _factory.CreateClient();
        Assert.Equal(sealedOnce, await StoredSecretAsync(_factory.DatabasePath, hook.Id));
    }

#if POSTGRES
    [Fact]
    public async Task WithoutSecretKeyOnPostgres_HealthSaysItIsRequired_AndCreateIs503()
    {
        _factory.Dispose();
        _factory = _factory.Restart();
        _factory.Settings.Remove("Webhooks:SecretKey");
        _api = _factory.CreateClient();
        var health = (await (await _api.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("webhooks");
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains("Webhooks:SecretKey", health.GetProperty("description").GetString());
        var response = await _api.PostJson("/api/webhooks", new { url = _receiver.Url, events = new[] { "flag.created" }, secret = Secret });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }
#else
    [Fact]
    public async Task WithoutSecretKeyOnSqlite_AKeyFileBesideTheDatabase_AndHealthSaysSo()
    {
        var health = (await (await _api.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("webhooks");
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains("Webhooks:SecretKey", health.GetProperty("description").GetString());
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(_factory.DatabasePath)!, WebhookSecrets.KeyFileName)));

        _factory.Dispose();
        _factory = _factory.Restart();
        _factory.Settings["Webhooks:SecretKey"] = WebhookDeliveryTests.TestSecretKey;
        _api = _factory.CreateClient();
        health = (await (await _api.GetAsync("/health")).ReadJson()).GetProperty("checks").GetProperty("webhooks");
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
    }
#endif
}
