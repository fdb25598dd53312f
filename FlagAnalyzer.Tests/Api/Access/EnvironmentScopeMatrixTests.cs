using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;
using FlagAnalyzer.Tests.Api.Live;
using FlagAnalyzer.Tests.Support;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace FlagAnalyzer.Tests.Api.Access;

/// <summary>
/// One app on a real port with real keys scoped to <c>staging</c> (editor, viewer, ingest, sdk), a <c>production</c>
/// flag with an anomaly and a prediction, and <c>staging</c> flags. Built once; the matrix below runs against it.
/// </summary>
public sealed class EnvironmentScopeFixture : IAsyncLifetime
{
    public LiveApp App { get; private set; } = null!;
    public Dictionary<string, string> Keys { get; } = new();
    public Dictionary<string, string> Ids { get; } = new();

    public async Task InitializeAsync()
    {
        App = LiveApp.Start();
        var admin = App.Http;
        foreach (var role in new[] { "editor", "viewer", "ingest", "sdk" })
            Keys[$"staging-{role}"] = (await admin.CreateKeyAsync(role, "staging")).Secret;
        Keys["admin"] = TestKeys.Admin;

        Ids["prod"] = await FlagAsync("mx-prod", "production");
        Ids["staging"] = await FlagAsync("mx-staging", "staging");
        Ids["stagingTmp"] = await FlagAsync("mx-staging-tmp", "staging");
        // a real change (with its prediction) and a real anomaly on the production flag
        var change = await (await admin.PostJson("/api/flags/change", new
        {
            flagId = Ids["prod"], changeType = "enabled", newValue = new { enabled = true, rolloutPercentage = 10 },
        })).ReadAs<JsonElement>();
        Ids["prodPrediction"] = change.GetProperty("prediction").GetProperty("id").GetString()!;
        Ids["prodAnomaly"] = (await App.RaiseErrorSpikeAsync(Ids["prod"])).GetProperty("id").GetString()!;
        var stagingChange = await (await admin.PostJson("/api/flags/change", new
        {
            flagId = Ids["staging"], changeType = "enabled", newValue = new { enabled = true, rolloutPercentage = 10 },
        })).ReadAs<JsonElement>();
        Ids["stagingPrediction"] = stagingChange.GetProperty("prediction").GetProperty("id").GetString()!;
    }

    private async Task<string> FlagAsync(string name, string environment) =>
        (await (await App.Http.PostJson("/api/flags", new { name, targetEnvironment = environment, enabled = false, rolloutPercentage = 0 }))
            .ReadAs<JsonElement>()).GetProperty("id").GetString()!;

    public HttpClient Client(string caller) => new HttpClient { BaseAddress = App.BaseUri }.WithKey(Keys[caller]);

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>
/// Issue 23 item 4: endpoint × role × scope with real keys. The expected answers are written out here, row by row,
/// NOT derived from EndpointRules or from the code under test: a change to the rule that widens or narrows what a
/// staging key reaches fails a row. {prod} and {staging} are flag ids; {prodKey}/{stagingKey} their OpenFeature keys.
/// </summary>
public sealed class EnvironmentScopeMatrixTests(EnvironmentScopeFixture f) : IClassFixture<EnvironmentScopeFixture>
{
    private const string Future = "2099-01-01T00:00:00Z";
    private const string ImportProd = """{ "flags": { "mx-prod": { "state": "DISABLED", "variants": { "on": true, "off": false }, "defaultVariant": "off" } } }""";
    private const string ImportNew = """{ "flags": { "mx-imported": { "state": "ENABLED", "variants": { "on": true, "off": false }, "defaultVariant": "on" } } }""";

    /// <summary>(method, path, caller, body, expected status). Run in this order: later rows may rely on earlier ones.</summary>
    public static readonly (string Method, string Path, string Caller, string? Body, int Status)[] Rows =
    [
        // flags: path ids
        ("GET", "/api/flags/{prod}", "staging-viewer", null, 404),
        ("GET", "/api/flags/mx-prod", "staging-viewer", null, 404),
        ("GET", "/api/flags/{staging}", "staging-viewer", null, 200),
        ("GET", "/api/flags/{prod}", "staging-editor", null, 404),
        ("GET", "/api/flags/{prod}", "admin", null, 200),
        ("PATCH", "/api/flags/{prod}", "staging-editor", """{"description":"x"}""", 404),
        ("PATCH", "/api/flags/mx-prod", "staging-editor", """{"description":"x"}""", 404),
        ("PATCH", "/api/flags/{staging}", "staging-editor", """{"description":"x"}""", 200),
        ("PATCH", "/api/flags/{staging}", "staging-viewer", """{"description":"y"}""", 403),
        ("DELETE", "/api/flags/{prod}", "staging-editor", null, 404),
        ("DELETE", "/api/flags/{stagingTmp}", "staging-editor", null, 204),
        // flags: bodies (the flag as stored decides, never the body)
        ("PATCH", "/api/flags/{staging}", "staging-editor", """{"targetEnvironment":"production"}""", 403),
        ("POST", "/api/flags", "staging-editor", """{"name":"mx-new-prod","targetEnvironment":"production"}""", 403),
        ("POST", "/api/flags", "staging-editor", """{"name":"mx-new-staging","targetEnvironment":"staging"}""", 201),
        ("POST", "/api/flags/change", "staging-editor", """{"flagId":"{prod}","changeType":"updated","newValue":{"description":"z"},"environment":"staging"}""", 404),
        ("POST", "/api/flags/change", "staging-editor", """{"flagName":"mx-prod","changeType":"updated","newValue":{"description":"z"}}""", 404),
        ("POST", "/api/flags/change", "staging-editor", """{"flagId":"{staging}","changeType":"updated","newValue":{"description":"z"}}""", 200),
        ("POST", "/api/flags/change", "staging-editor", """{"flagId":"{staging}","changeType":"updated","newValue":{"targetEnvironment":"production"}}""", 403),
        // change log
        ("GET", "/api/flags/{prod}/changes", "staging-viewer", null, 404),
        ("GET", "/api/flags/{staging}/changes", "staging-viewer", null, 200),
        // metrics, exposures
        ("GET", "/api/flags/{prod}/metrics", "staging-viewer", null, 404),
        ("GET", "/api/flags/{staging}/metrics", "staging-viewer", null, 200),
        ("GET", "/api/flags/{prod}/exposures", "staging-viewer", null, 404),
        ("GET", "/api/flags/{staging}/exposures", "staging-viewer", null, 200),
        ("POST", "/api/metrics", "staging-ingest", """{"flagId":"{prod}","errorRate":90,"latencyP50":900,"latencyP99":2000,"requestCount":1000}""", 404),
        ("POST", "/api/metrics", "staging-ingest", """[{"flagId":"{staging}","errorRate":1,"latencyP50":9,"latencyP99":20,"requestCount":10},{"flagId":"mx-prod","errorRate":90,"latencyP50":900,"latencyP99":2000,"requestCount":1000}]""", 404),
        ("POST", "/api/metrics", "staging-ingest", """{"flagId":"{staging}","errorRate":1,"latencyP50":9,"latencyP99":20,"requestCount":10}""", 200),
        ("POST", "/api/metrics", "staging-viewer", """{"flagId":"{staging}","errorRate":1,"latencyP50":9,"latencyP99":20,"requestCount":10}""", 403),
        // rollouts and schedules
        ("GET", "/api/flags/{prod}/rollout", "staging-viewer", null, 404),
        ("PUT", "/api/flags/{prod}/rollout", "staging-editor", "{}", 404),
        ("POST", "/api/flags/{prod}/rollout/start", "staging-editor", null, 404),
        ("POST", "/api/flags/{prod}/rollout/abort", "staging-editor", null, 404),
        ("PUT", "/api/flags/{staging}/rollout", "staging-editor", "{}", 200),
        ("GET", "/api/flags/{prod}/schedules", "staging-viewer", null, 404),
        ("POST", "/api/flags/{prod}/schedules", "staging-editor", $$"""{"action":"enable","at":"{{Future}}"}""", 404),
        ("POST", "/api/flags/{staging}/schedules", "staging-editor", $$"""{"action":"enable","at":"{{Future}}"}""", 201),
        ("DELETE", "/api/flags/{prod}/schedules/sch_none", "staging-editor", null, 404),
        // anomalies, predictions, analysis
        ("GET", "/api/anomalies/{prodAnomaly}", "staging-viewer", null, 404),
        ("GET", "/api/anomalies/{prodAnomaly}", "admin", null, 200),
        ("POST", "/api/anomalies/{prodAnomaly}/acknowledge", "staging-editor", "{}", 404),
        ("GET", "/api/predictions/{prodPrediction}", "staging-viewer", null, 404),
        ("GET", "/api/predictions/{stagingPrediction}", "staging-viewer", null, 200),
        ("GET", "/api/predictions/{prodPrediction}", "admin", null, 200),
        ("POST", "/api/analyze", "staging-editor", """{"flagId":"{prod}"}""", 404),
        ("POST", "/api/analyze", "staging-editor", """{"flagId":"{staging}"}""", 200),
        // import / export
        ("POST", "/api/flags/import?environment=staging", "staging-editor", ImportProd, 403),
        ("POST", "/api/flags/import", "staging-editor", ImportProd, 403),
        ("POST", "/api/flags/import?environment=production", "staging-editor", ImportNew, 403),
        ("POST", "/api/flags/import?environment=staging", "staging-editor", ImportNew, 200),
        ("GET", "/api/flags/export?environment=production", "staging-viewer", null, 403),
        ("GET", "/api/flags/export", "staging-viewer", null, 200),
        // OFREP single (bulk and its ETag below)
        // issue 26: the same key in every environment — staging's (disabled) configuration of the production flag, never production's
        ("POST", "/ofrep/v1/evaluate/flags/mx-prod", "staging-sdk", """{"context":{"targetingKey":"u1"}}""", 200),
        ("POST", "/ofrep/v1/evaluate/flags/mx-staging", "staging-sdk", """{"context":{"targetingKey":"u1"}}""", 200),
        // issue 26: the same key in every environment — staging's (disabled) configuration of the production flag, never production's
        ("POST", "/ofrep/v1/evaluate/flags/mx-prod", "staging-editor", """{"context":{"targetingKey":"u1"}}""", 200),
        ("POST", "/ofrep/v1/evaluate/flags/mx-staging", "staging-viewer", """{"context":{"targetingKey":"u1"}}""", 403),
        ("POST", "/ofrep/v1/evaluate/flags/mx-prod", "staging-ingest", """{"context":{"targetingKey":"u1"}}""", 403),
        ("POST", "/ofrep/v1/evaluate/flags", "staging-sdk", """{"context":{"targetingKey":"u1"}}""", 200),
    ];

    private string Fill(string text) =>
        f.Ids.Aggregate(text, (t, id) => t.Replace("{" + id.Key + "}", id.Value, StringComparison.Ordinal));

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string caller, string? body, Action<HttpRequestMessage>? configure = null)
    {
        using var client = f.Client(caller);
        var request = new HttpRequestMessage(new HttpMethod(method), Fill(path));
        if (body is not null) request.Content = new StringContent(Fill(body), Encoding.UTF8, "application/json");
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task EveryRow_AnswersAsTheTableSays_AndNothingOfProductionChanged()
    {
        var prodBefore = await (await f.App.Http.GetAsync($"/api/flags/{f.Ids["prod"]}")).ReadAs<JsonElement>();
        var failures = new List<string>();
        foreach (var (method, path, caller, body, status) in Rows)
        {
            using var response = await SendAsync(method, path, caller, body);
            if ((int)response.StatusCode != status)
                failures.Add($"{method} {path} as {caller}: expected {status}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            else if (status is 403 or 404 && !path.StartsWith("/ofrep", StringComparison.Ordinal)
                     && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                failures.Add($"{method} {path} as {caller}: {status} without application/problem+json");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        var prodAfter = await (await f.App.Http.GetAsync($"/api/flags/{f.Ids["prod"]}")).ReadAs<JsonElement>();
        Assert.Equal(prodBefore.GetProperty("version").GetInt64(), prodAfter.GetProperty("version").GetInt64());
        Assert.Equal("production", prodAfter.GetProperty("targetEnvironment").GetString());
        var samples = await (await f.App.Http.GetAsync($"/api/flags/{f.Ids["prod"]}/metrics")).ReadAs<JsonElement>();
        Assert.DoesNotContain(samples.GetProperty("items").EnumerateArray(), s => s.GetProperty("errorRate").GetDouble() == 90);
        var anomaly = await (await f.App.Http.GetAsync($"/api/anomalies/{f.Ids["prodAnomaly"]}")).ReadAs<JsonElement>();
        Assert.Equal("active", anomaly.GetProperty("status").GetString());
    }

    /// <summary>Lists leave production out for a staging viewer; the literal column is whether each id may appear.</summary>
    public static readonly (string Path, string Field, string Id, bool Listed)[] ListRows =
    [
        ("/api/flags?limit=200", "id", "{prod}", false),
        ("/api/flags?limit=200", "id", "{staging}", true),
        ("/api/flags/changes?limit=200", "flagId", "{prod}", false),
        ("/api/flags/changes?limit=200", "flagId", "{staging}", true),
        ("/api/flags/changes?flagId={prod}", "flagId", "{prod}", false),
        ("/api/anomalies?status=all", "id", "{prodAnomaly}", false),
        ("/api/predictions?limit=200", "id", "{prodPrediction}", false),
        ("/api/predictions?limit=200", "id", "{stagingPrediction}", true),
        ("/api/predictions?flagId={prod}", "flagId", "{prod}", false),
    ];

    [Fact]
    public async Task Lists_ForAStagingViewer_LeaveProductionOut()
    {
        var failures = new List<string>();
        foreach (var (path, field, id, listed) in ListRows)
        {
            var items = (await (await SendAsync("GET", path, "staging-viewer", null)).ReadAs<JsonElement>()).GetProperty("items");
            var present = items.EnumerateArray().Any(i => i.GetProperty(field).GetString() == Fill(id));
            if (present != listed) failures.Add($"{path}: {id} {(listed ? "missing" : "listed")}");
        }
        // the same lists as admin do show production: the rows above can fail
        var all = (await (await f.App.Http.GetAsync("/api/anomalies?status=all")).ReadAs<JsonElement>()).GetProperty("items");
        Assert.Contains(all.EnumerateArray(), a => a.GetProperty("id").GetString() == f.Ids["prodAnomaly"]);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task OfrepBulk_ForAStagingSdkKey_HasOnlyStagingFlags_AndItsETagIgnoresProductionChanges()
    {
        const string context = """{"context":{"targetingKey":"u1"}}""";
        using var first = await SendAsync("POST", "/ofrep/v1/evaluate/flags", "staging-sdk", context);
        var flags = (await first.ReadAs<JsonElement>()).GetProperty("flags").EnumerateArray().ToDictionary(x => x.GetProperty("key").GetString()!);
        Assert.Contains("mx-staging", flags.Keys);
        // issue 26: the production flag is there as staging configures it (disabled), never with production's enabled value
        Assert.Equal(("off", "DISABLED"), (flags["mx-prod"].GetProperty("variant").GetString(), flags["mx-prod"].GetProperty("reason").GetString()));
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);

        // a production change, seen by the admin's evaluation (the snapshot has it), leaves the staging ETag valid
        var description = $"changed {Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await f.App.Http.PatchAsync($"/api/flags/{f.Ids["prod"]}",
            new StringContent($$"""{"enabled":false,"rolloutPercentage":{{Random.Shared.Next(20, 90)}},"description":"{{description}}"}""", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.True(await Wait.Until(async () =>
        {
            using var admin = await SendAsync("POST", "/ofrep/v1/evaluate/flags/mx-prod", "admin", context);
            return (await admin.ReadJson()).GetProperty("reason").GetString() == "DISABLED";
        }), "the production change never reached the evaluation snapshot");
        using var unchanged = await SendAsync("POST", "/ofrep/v1/evaluate/flags", "staging-sdk", context, r => r.Headers.IfNoneMatch.Add(etag!));
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);

        // a staging change does change it
        Assert.Equal(HttpStatusCode.OK, (await f.App.Http.PatchAsync($"/api/flags/{f.Ids["staging"]}",
            new StringContent("""{"enabled":false}""", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.True(await Wait.Until(async () =>
        {
            using var changed = await SendAsync("POST", "/ofrep/v1/evaluate/flags", "staging-sdk", context, r => r.Headers.IfNoneMatch.Add(etag!));
            return changed.StatusCode == HttpStatusCode.OK;
        }), "a staging change did not change the staging bulk ETag");
    }

    [Fact]
    public async Task OtlpTraces_FromAStagingIngestKey_RejectProductionSpans_AndCountStagingOnes()
    {
        var end = DateTimeOffset.UtcNow;
        // issue 26: a staging key's spans without a resource environment are staging evidence, of any flag; the boundary
        // that holds is production's — spans whose resource names production are rejected, whatever the flag's home
        var production = new ResourceSpans
        {
            Resource = new Resource { Attributes = { Otlp.Attr(SpanAttribution.EnvironmentAttribute, "production") } },
            ScopeSpans = { new ScopeSpans { Spans = { Otlp.Request("mx-prod", "on", end, 20).Concat(Otlp.Request("mx-prod", "off", end, 20)) } } },
        };
        var export = Otlp.Export(Otlp.Request("mx-staging", "on", end, 20));
        export.ResourceSpans.Add(production);
        using var client = f.Client("staging-ingest");
        var body = new ByteArrayContent(export.ToByteArray());
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");

        var response = await client.PostAsync("/v1/traces", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var partial = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess;
        Assert.Equal(2, partial.RejectedSpans);
        Assert.Contains("mx-prod", partial.ErrorMessage);

        using var admin = new HttpClient { BaseAddress = f.App.BaseUri }.WithKey(TestKeys.Admin);
        var asAdmin = await admin.PostAsync("/v1/traces", new StringContent(Otlp.ToJson(Otlp.Export(Otlp.Request("mx-prod", "on", end, 20))), Encoding.UTF8, "application/json"));
        Assert.False((await asAdmin.ReadJson()).TryGetProperty("partialSuccess", out _), "the admin key's production span was rejected too");
    }

    [Fact]
    public async Task OtlpMetrics_FromAStagingIngestKey_RejectProductionPoints_AndCountStagingOnes()
    {
        var at = DateTimeOffset.UtcNow;
        static KeyValue Str(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
        NumberDataPoint Point(string flag) => new()
        {
            TimeUnixNano = Otlp.Nanos(at), StartTimeUnixNano = Otlp.Nanos(at.AddMinutes(-1)), AsInt = 5,
            Attributes = { Str("feature_flag.key", flag), Str("feature_flag.result.variant", "on") },
        };
        ResourceMetrics InResource(string? environment, params NumberDataPoint[] points) => new()
        {
            Resource = environment is null ? null : new Resource { Attributes = { Str(SpanAttribution.EnvironmentAttribute, environment) } },
            ScopeMetrics =
            {
                new ScopeMetrics
                {
                    Metrics = { new Metric { Name = MetricsIntake.SuccessCounter, Sum = new Sum { AggregationTemporality = AggregationTemporality.Delta, IsMonotonic = true, DataPoints = { points } } } },
                },
            },
        };
        // issue 26, as for spans: a staging key's points without a resource environment are staging evidence, of any flag;
        // the boundary that holds is production's — points whose resource names production are rejected, whatever the flag's home
        var export = new ExportMetricsServiceRequest { ResourceMetrics = { InResource(null, Point("mx-staging"), Point("mx-prod")), InResource("production", Point("mx-prod")) } };
        using var client = f.Client("staging-ingest");
        var content = new ByteArrayContent(export.ToByteArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");

        var response = await client.PostAsync("/v1/metrics", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = ExportMetricsServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, answer.PartialSuccess?.RejectedDataPoints);
        Assert.Contains("mx-prod", answer.PartialSuccess!.ErrorMessage);
        // the production flag's unnamed point counted in staging (the only source of staging "on" exposures of it)
        var exposures = await (await f.App.Http.GetAsync($"/api/flags/{f.Ids["prod"]}/exposures?minutes=60&environment=staging")).ReadJson();
        Assert.Contains(exposures.GetProperty("variants").EnumerateArray(), v => v.GetProperty("variant").GetString() == "on" && v.GetProperty("count").GetInt64() == 5);
    }

    [Fact]
    public async Task LiveEvents_ForAStagingViewer_OnTheHubAndWs_CarryOnlyStagingFlags()
    {
        var viewer = f.Keys["staging-viewer"];
        var hubInbox = new LiveInbox();
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(f.App.BaseUri, LiveHub.Path), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.AccessTokenProvider = () => Task.FromResult<string?>(viewer);
        }).Build();
        hub.On<JsonElement>("event", e => hubInbox.Add(e));
        await hub.StartAsync().WaitAsync(LiveInbox.Timeout);
        await hub.InvokeAsync("Subscribe", LiveTopics.All);
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(f.Ids["prod"]));
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new UriBuilder(f.App.BaseUri) { Scheme = "ws", Path = "/ws", Query = $"access_token={Uri.EscapeDataString(viewer)}" }.Uri,
            CancellationToken.None).WaitAsync(LiveInbox.Timeout);
        await using var seed = new SeedSocket(ws);
        // an admin's hub sees both, so the production events are really published
        var (adminConnection, adminInbox) = await f.App.ConnectHubAsync();
        await adminConnection.InvokeAsync("Subscribe", LiveTopics.All);

        var marker = $"mark-{Guid.NewGuid():N}";
        await PatchAsync(f.Ids["prod"], $$"""{"description":"prod-{{marker}}"}""");
        await f.App.Http.PostJson("/api/metrics", new { flagId = f.Ids["prod"], errorRate = 1.0, latencyP50 = 10.0, latencyP99 = 20.0, requestCount = 10 });
        await PatchAsync(f.Ids["staging"], $$"""{"description":"staging-{{marker}}"}""");

        // events leave in publication order: once the staging one arrived, the production ones would have
        foreach (var inbox in new[] { hubInbox, seed.Inbox })
        {
            await inbox.WaitFor(m => m.ToString().Contains("staging-" + marker, StringComparison.Ordinal), "the staging flag's update");
            Assert.DoesNotContain(inbox.Items, m => m.ToString().Contains(f.Ids["prod"], StringComparison.Ordinal));
        }
        await adminInbox.WaitFor(m => m.ToString().Contains("prod-" + marker, StringComparison.Ordinal), "the production update (admin)");
    }

    [Fact]
    public async Task ChatSession_OfAnUnscopedKey_IsNotFoundForStagingKeys_AndItsLiveEventsDoNotReachThem()
    {
        // the admin's session holds answers from every environment's data
        var adminSession = $"admin-{Guid.NewGuid():N}";
        var stagingSession = $"staging-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await f.App.Http.PostJson("/api/chat", new { message = "what are the current risks?", sessionId = adminSession })).StatusCode);
        using var editor = f.Client("staging-editor");

        Assert.Equal(HttpStatusCode.NotFound, (await editor.GetAsync($"/api/chat/{adminSession}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await f.Client("staging-viewer").GetAsync($"/api/chat/{adminSession}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await editor.PostJson("/api/chat", new { message = "and now?", sessionId = adminSession })).StatusCode);
        var adminView = await (await f.App.Http.GetAsync($"/api/chat/{adminSession}")).ReadAs<JsonElement>();
        Assert.Equal(2, adminView.GetProperty("messages").GetArrayLength()); // the refused question was not appended

        // live: a staging viewer following both sessions gets the staging one's events only
        var inbox = new LiveInbox();
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(f.App.BaseUri, LiveHub.Path), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.AccessTokenProvider = () => Task.FromResult<string?>(f.Keys["staging-viewer"]);
        }).Build();
        hub.On<JsonElement>("event", e => inbox.Add(e));
        await hub.StartAsync().WaitAsync(LiveInbox.Timeout);
        await hub.InvokeAsync("Subscribe", LiveTopics.Chat(adminSession));
        await hub.InvokeAsync("Subscribe", LiveTopics.Chat(stagingSession));

        Assert.Equal(HttpStatusCode.OK, (await f.App.Http.PostJson("/api/chat", new { message = "which flags are risky?", sessionId = adminSession })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await editor.PostJson("/api/chat", new { message = "which flags are risky?", sessionId = stagingSession })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await editor.GetAsync($"/api/chat/{stagingSession}")).StatusCode);

        // events leave in publication order: once the staging session's answer arrived, the admin's would have
        await inbox.WaitFor(m => m.ToString().Contains(stagingSession, StringComparison.Ordinal) && m.ToString().Contains("chat.message", StringComparison.Ordinal)
                                 && m.ToString().Contains("assistant", StringComparison.Ordinal), "the staging session's answer");
        Assert.DoesNotContain(inbox.Items, m => m.ToString().Contains(adminSession, StringComparison.Ordinal));
    }

    private async Task PatchAsync(string id, string json) =>
        Assert.Equal(HttpStatusCode.OK, (await f.App.Http.PatchAsync($"/api/flags/{id}", new StringContent(json, Encoding.UTF8, "application/json"))).StatusCode);
}
