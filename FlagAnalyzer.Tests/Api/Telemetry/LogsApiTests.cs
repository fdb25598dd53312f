using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// <c>POST /v1/logs</c> over the real API: feature_flag.evaluation records joined to request spans sent to
/// <c>/v1/traces</c> in separate exports, in either order, give the same samples as span events; every usable record
/// is an exposure; both encodings, gzip, OTLP answers, bad input, keys.
/// </summary>
public sealed class LogsApiTests : IDisposable
{
    private readonly ApiFactory _app = TracesApiTests.NewApp();
    private readonly HttpClient _http;
    private readonly AnalysisClient _api;

    public LogsApiTests()
    {
        _http = _app.CreateClient();
        _api = new AnalysisClient(_http);
    }

    public void Dispose() => _app.Dispose();

    private Task<int> FlushAsync() => _app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);

    private static ByteArrayContent Content(byte[] bytes, string type)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue(type);
        return c;
    }

    private async Task PostTracesAsync(IEnumerable<Span> spans)
    {
        var response = await _http.PostAsync("/v1/traces", Content(Otlp.Export(spans).ToByteArray(), "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<ExportLogsServiceResponse> PostLogsAsync(IEnumerable<LogRecord> records, bool json = false, HttpClient? http = null)
    {
        var export = OtlpLogs.Export(records);
        var response = await (http ?? _http).PostAsync("/v1/logs", json
            ? new StringContent(OtlpLogs.ToJson(export), Encoding.UTF8, "application/json")
            : Content(export.ToByteArray(), "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (json)
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return JsonParser.Default.Parse<ExportLogsServiceResponse>(await response.Content.ReadAsStringAsync());
        }
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        return ExportLogsServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>(variant, requests, error rate, p50, p99) per stored sample, sorted.</summary>
    private async Task<List<(string Variant, string Cohort, long Requests, double ErrorRate, double P50, double P99)>> SamplesAsync(string flagId)
    {
        var items = (await (await _http.GetAsync($"/api/flags/{flagId}/metrics")).ReadJson()).GetProperty("items");
        return items.EnumerateArray().Select(s => (s.GetProperty("variant").GetString()!, s.GetProperty("cohort").GetString()!,
                s.GetProperty("requestCount").GetInt64(), s.GetProperty("errorRate").GetDouble(), s.GetProperty("latencyP50").GetDouble(),
                s.GetProperty("latencyP99").GetDouble()))
            .OrderBy(s => s.Item1).ToList();
    }

    private async Task<Dictionary<string, long>> ExposuresAsync(string flagId)
    {
        var body = await (await _http.GetAsync($"/api/flags/{flagId}/exposures?minutes=60")).ReadJson();
        return body.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
    }

    /// <summary>Ten "on" requests (40–49 ms, the first failing) and four "off" ones (20 ms), ending now.</summary>
    private static List<Span> Traffic(string flag, DateTimeOffset end) =>
        Enumerable.Range(0, 10).SelectMany(i => Otlp.Request(flag, "on", end, latencyMs: 40 + i, error: i == 0))
            .Concat(Enumerable.Range(0, 4).SelectMany(_ => Otlp.Request(flag, "off", end, latencyMs: 20))).ToList();

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task EvaluationRecords_JoinedToTheirSpans_GiveTheSameSamplesAsSpanEvents(bool spansFirst, bool json)
    {
        var viaEvents = await _api.CreateFlagAsync("logs-events");
        var viaLogs = await _api.CreateFlagAsync("logs-records");
        var end = DateTimeOffset.UtcNow;
        await PostTracesAsync(Traffic("logs-events", end));
        var (spans, records) = OtlpLogs.MoveEventsToLogs(Traffic("logs-records", end));

        if (spansFirst) await PostTracesAsync(spans);
        var answer = await PostLogsAsync(records, json);
        if (!spansFirst) await PostTracesAsync(spans);

        Assert.Null(answer.PartialSuccess);
        Assert.Equal(4, await FlushAsync());
        var expected = await SamplesAsync(viaEvents);
        Assert.Equal([("off", "control", 4L), ("on", "treatment", 10L)], expected.Select(s => (s.Variant, s.Cohort, s.Requests)));
        Assert.Equal(10.0, expected[1].ErrorRate, 6);
        Assert.Equal(expected, await SamplesAsync(viaLogs));
        // each record is also an exposure, joined or not
        Assert.Equal(new Dictionary<string, long> { ["on"] = 10, ["off"] = 4 }, await ExposuresAsync(viaLogs));
    }

    [Fact]
    public async Task OlderSdksEventNameAttribute_IsReadToo()
    {
        var id = await _api.CreateFlagAsync("logs-legacy");
        var (spans, records) = OtlpLogs.MoveEventsToLogs(Otlp.Request("logs-legacy", "on", DateTimeOffset.UtcNow, 30), legacyName: true);
        Assert.DoesNotContain(records, r => r.EventName.Length > 0);

        await PostLogsAsync(records);
        await PostTracesAsync(spans);

        Assert.Equal(1, await FlushAsync());
        Assert.Equal(1, Assert.Single(await SamplesAsync(id)).Requests);
    }

    [Fact]
    public async Task EvaluationsWithoutASpan_AreExposuresOnly()
    {
        var id = await _api.CreateFlagAsync("logs-alone");
        var now = DateTimeOffset.UtcNow;
        var neverSent = Otlp.Request("logs-alone", "on", now, 30).First();
        var records = new[]
        {
            OtlpLogs.Evaluation(neverSent, "logs-alone", "on", now),
            OtlpLogs.Evaluation(null, "logs-alone", "on", now), // outside any trace (at start-up, on a timer)
            OtlpLogs.Evaluation(null, "logs-alone", "off", now),
        };

        Assert.Null((await PostLogsAsync(records, json: true)).PartialSuccess);

        Assert.Equal(new Dictionary<string, long> { ["on"] = 2, ["off"] = 1 }, await ExposuresAsync(id));
        Assert.Equal(0, await FlushAsync());
    }

    [Fact]
    public async Task UnusableRecords_AreRejectedWithReasons_OtherLogsAreIgnored()
    {
        var id = await _api.CreateFlagAsync("logs-partial");
        var now = DateTimeOffset.UtcNow;
        var plain = new LogRecord { TimeUnixNano = Otlp.Nanos(now), Attributes = { Otlp.Attr("message", "checkout started") } };
        var noKey = OtlpLogs.Evaluation(null, "x", "on", now);
        noKey.Attributes.RemoveAt(noKey.Attributes.IndexOf(noKey.Attributes.Single(a => a.Key == "feature_flag.key")));
        var records = new[]
        {
            plain,
            OtlpLogs.Evaluation(null, "logs-partial", "on", now),
            OtlpLogs.Evaluation(null, "no-such-flag", "on", now),
            OtlpLogs.Evaluation(null, "logs-partial", null, now),
            OtlpLogs.Evaluation(null, "logs-partial", "on", now, reason: "error"),
            OtlpLogs.Evaluation(null, "logs-partial", "on", now.AddDays(30)),
            OtlpLogs.Evaluation(null, "logs-partial", "made-up", now),
            noKey,
        };

        var partial = (await PostLogsAsync(records)).PartialSuccess;

        Assert.Equal(6, partial.RejectedLogRecords);
        foreach (var reason in new[] { "no-such-flag: not a flag", "without feature_flag.result.variant", "reason error", "record time outside",
                     "without feature_flag.key", "has no variant 'made-up'" })
            Assert.Contains(reason, partial.ErrorMessage);
        Assert.Equal(new Dictionary<string, long> { ["on"] = 1 }, await ExposuresAsync(id));
    }

    [Fact]
    public async Task GzipBody_IsAccepted()
    {
        var id = await _api.CreateFlagAsync("logs-gzip");
        var raw = OtlpLogs.Export([OtlpLogs.Evaluation(null, "logs-gzip", "on", DateTimeOffset.UtcNow)]).ToByteArray();
        var content = Content(TracesApiTests.Gzip(raw), "application/x-protobuf");
        content.Headers.ContentEncoding.Add("gzip");

        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/v1/logs", content)).StatusCode);
        Assert.Equal(1, (await ExposuresAsync(id))["on"]);
    }

    [Fact]
    public async Task BadInput_GetsAClear4xx_AndNothingIsCounted()
    {
        var id = await _api.CreateFlagAsync("logs-bad");
        var good = OtlpLogs.Export([OtlpLogs.Evaluation(null, "logs-bad", "on", DateTimeOffset.UtcNow)]);

        var truncated = await _http.PostAsync("/v1/logs", Content(good.ToByteArray()[..^3], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
        var status = RpcStatus.Parser.ParseFrom(await truncated.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, status.Code);
        Assert.Contains("ExportLogsServiceRequest", status.Message);

        var json = OtlpLogs.ToJson(good);
        foreach (var bad in new[] { json[..^2], "[]", json.Replace("\"spanId\":\"\"", "\"spanId\":\"xyz\""), json.Replace("\"observedTimeUnixNano\":\"", "\"observedTimeUnixNano\":\"-") })
        {
            var response = await _http.PostAsync("/v1/logs", new StringContent(bad, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("not an OTLP ExportLogsServiceRequest", (await response.ReadJson()).GetProperty("message").GetString());
        }

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _http.PostAsync("/v1/logs", Content(good.ToByteArray(), "text/plain"))).StatusCode);
        var bomb = Content(TracesApiTests.Gzip(new byte[100 * 1024 * 1024]), "application/x-protobuf");
        bomb.Headers.ContentEncoding.Add("gzip");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await _http.PostAsync("/v1/logs", bomb)).StatusCode);

        Assert.Empty(await ExposuresAsync(id));
    }

    [Fact]
    public async Task OnlyKeysThatMayIngest_MaySendLogs()
    {
        var id = await _api.CreateFlagAsync("logs-keys");
        byte[] Body() => OtlpLogs.Export([OtlpLogs.Evaluation(null, "logs-keys", "on", DateTimeOffset.UtcNow)]).ToByteArray();

        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateAnonymousClient().PostAsync("/v1/logs", Content(Body(), "application/x-protobuf"))).StatusCode);
        var viewer = _app.CreateClient().WithKey((await _http.CreateKeyAsync("viewer")).Secret);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/v1/logs", Content(Body(), "application/x-protobuf"))).StatusCode);
        var ingest = _app.CreateClient().WithKey((await _http.CreateKeyAsync("ingest")).Secret);
        await PostLogsAsync([OtlpLogs.Evaluation(null, "logs-keys", "on", DateTimeOffset.UtcNow)], http: ingest);

        Assert.Equal(1, (await ExposuresAsync(id))["on"]);
    }
}
