using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary><c>POST /v1/traces</c> over the real API: both encodings, OTLP answers, flushes into metric samples, bad input.</summary>
public sealed class TracesApiTests : IDisposable
{
    private readonly ApiFactory _app = NewApp();
    private readonly HttpClient _http;
    private readonly AnalysisClient _api;

    public TracesApiTests()
    {
        _http = _app.CreateClient();
        _api = new AnalysisClient(_http);
    }

    public void Dispose() => _app.Dispose();

    internal static ApiFactory NewApp(string? databasePath = null, int maxBuckets = 2048)
    {
        var app = new ApiFactory(databasePath);
        app.Settings["Telemetry:SampleInterval"] = "00:00:01";
        // the background flush never comes due in a test: tests flush explicitly (or by stopping the app)
        app.Settings["Telemetry:FlushDelay"] = "01:00:00";
        app.Settings["Telemetry:MaxBuckets"] = maxBuckets.ToString();
        return app;
    }

    private Task<int> FlushAsync() => _app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);

    private static ByteArrayContent Protobuf(ExportTraceServiceRequest export) => Content(export.ToByteArray(), "application/x-protobuf");

    private static ByteArrayContent Content(byte[] bytes, string type)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue(type);
        return c;
    }

    private async Task<JsonElement> MetricsAsync(string flagId) =>
        (await (await _http.GetAsync($"/api/flags/{flagId}/metrics")).ReadJson()).GetProperty("items");

    [Fact]
    public async Task ProtobufExport_BecomesControlAndTreatmentSamples_AfterTheFlush()
    {
        var id = await _api.CreateFlagAsync("otlp-proto");
        var end = DateTimeOffset.UtcNow;
        var spans = Enumerable.Range(0, 10).SelectMany(i => Otlp.Request("otlp-proto", "on", end, latencyMs: 100 + i, error: i == 0))
            .Concat(Enumerable.Range(0, 4).SelectMany(i => Otlp.Request("otlp-proto", "off", end, latencyMs: 50)));

        var response = await _http.PostAsync("/v1/traces", Protobuf(Otlp.Export(spans)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        var answer = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Null(answer.PartialSuccess);
        Assert.Empty((await MetricsAsync(id)).EnumerateArray()); // nothing is stored before the flush

        Assert.Equal(2, await FlushAsync());
        var samples = (await MetricsAsync(id)).EnumerateArray().ToList();
        var treatment = samples.Single(s => s.GetProperty("cohort").GetString() == "treatment");
        var control = samples.Single(s => s.GetProperty("cohort").GetString() == "control");
        Assert.Equal(10, treatment.GetProperty("requestCount").GetInt64());
        Assert.Equal(10.0, treatment.GetProperty("errorRate").GetDouble(), 6);
        Assert.InRange(treatment.GetProperty("latencyP50").GetDouble(), 103, 106);
        Assert.Equal(4, control.GetProperty("requestCount").GetInt64());
        Assert.Equal(0.0, control.GetProperty("errorRate").GetDouble());
    }

    [Fact]
    public async Task JsonExport_UnknownFlagsAreReportedAsPartialSuccess_NotStored()
    {
        var id = await _api.CreateFlagAsync("otlp-json");
        var end = DateTimeOffset.UtcNow;
        var export = Otlp.Export(Otlp.Request("otlp-json", "on", end, 20).Concat(Otlp.Request("no-such-flag", "on", end, 20)).Concat(Otlp.Request("no-such-flag", "off", end, 20)));

        var response = await _http.PostAsync("/v1/traces", new StringContent(Otlp.ToJson(export), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var partial = (await response.ReadJson()).GetProperty("partialSuccess");
        Assert.Equal("2", partial.GetProperty("rejectedSpans").GetString()); // int64 is a string in protobuf JSON
        Assert.Contains("no-such-flag", partial.GetProperty("errorMessage").GetString());
        Assert.Equal(1, await FlushAsync());
        Assert.Equal(1, Assert.Single((await MetricsAsync(id)).EnumerateArray()).GetProperty("requestCount").GetInt64());
    }

    [Fact]
    public async Task SpansFollowTheFlagsKey_AfterARekeyAndADelete_OldKeysAreUnknown()
    {
        var created = await (await _http.PostJson("/api/flags", new { name = "otlp-rekey", key = "checkout.v1" })).ReadJson();
        var id = created.GetProperty("id").GetString()!;
        async Task<long> RejectedAsync(string key)
        {
            var response = await _http.PostAsync("/v1/traces", Protobuf(Otlp.Export(Otlp.Request(key, "on", DateTimeOffset.UtcNow, 20))));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess?.RejectedSpans ?? 0;
        }

        Assert.Equal(0, await RejectedAsync("checkout.v1"));
        Assert.Equal(0, await RejectedAsync("checkout.v1")); // the second export is answered from what the first learned

        (await _http.PatchAsync($"/api/flags/{id}", System.Net.Http.Json.JsonContent.Create(new { key = "checkout.v2" }))).EnsureSuccessStatusCode();
        Assert.Equal(1, await RejectedAsync("checkout.v1")); // the span with the evaluation event: the old key names nothing now
        Assert.Equal(0, await RejectedAsync("checkout.v2"));

        (await _http.DeleteAsync($"/api/flags/{id}")).EnsureSuccessStatusCode();
        Assert.Equal(1, await RejectedAsync("checkout.v2"));
    }

    [Fact]
    public async Task GzipBody_IsAccepted()
    {
        await _api.CreateFlagAsync("otlp-gzip");
        var raw = Otlp.Export(Otlp.Request("otlp-gzip", "on", DateTimeOffset.UtcNow, 20)).ToByteArray();
        var content = Content(Gzip(raw), "application/x-protobuf");
        content.Headers.ContentEncoding.Add("gzip");

        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/v1/traces", content)).StatusCode);
        Assert.Equal(1, await FlushAsync());
    }

    [Fact]
    public async Task BadInput_GetsAClear4xx_AndNothingIsStored()
    {
        var id = await _api.CreateFlagAsync("otlp-bad");
        var now = DateTimeOffset.UtcNow;
        var good = Otlp.Export(Otlp.Request("otlp-bad", "on", now, 20)).ToByteArray();

        // truncated protobuf: 400 with a google.rpc.Status in protobuf
        var truncated = await _http.PostAsync("/v1/traces", Content(good[..^3], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
        var status = RpcStatus.Parser.ParseFrom(await truncated.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, status.Code);
        Assert.Contains("not an OTLP", status.Message);

        // wrong content type, unknown content encoding: 415
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _http.PostAsync("/v1/traces", Content(good, "text/plain"))).StatusCode);
        var brotli = Content(good, "application/x-protobuf");
        brotli.Headers.ContentEncoding.Add("br");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _http.PostAsync("/v1/traces", brotli)).StatusCode);

        // gzip bomb: 100 MB of zeros in ~100 KB, refused once 8 MB have inflated
        var bomb = Content(Gzip(new byte[100 * 1024 * 1024]), "application/x-protobuf");
        bomb.Headers.ContentEncoding.Add("gzip");
        Assert.True(bomb.Headers.ContentLength < 1024 * 1024);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await _http.PostAsync("/v1/traces", bomb)).StatusCode);

        // corrupt gzip: 400
        var corrupt = Content([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff], "application/x-protobuf");
        corrupt.Headers.ContentEncoding.Add("gzip");
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync("/v1/traces", corrupt)).StatusCode);

        // 50 MB body: 413 before it is read
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await _http.PostAsync("/v1/traces", Content(new byte[50 * 1024 * 1024], "application/x-protobuf"))).StatusCode);

        // absurd times: one bad request span refuses the whole export, the good span with it
        var absurd = Otlp.Export(Otlp.Request("otlp-bad", "on", now, 20).Concat(Otlp.Request("otlp-bad", "on", now.AddDays(30), 20)));
        var refused = await _http.PostAsync("/v1/traces", new StringContent(Otlp.ToJson(absurd), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("in the future", (await refused.ReadJson()).GetProperty("message").GetString());
        var negative = Otlp.Export(Otlp.Request("otlp-bad", "on", now, latencyMs: -1000));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync("/v1/traces", Protobuf(negative))).StatusCode);

        Assert.Equal(0, await FlushAsync());
        Assert.Empty((await MetricsAsync(id)).EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task AggregationFull_ShedsWith503AndRetryAfter_NothingOfTheExportCounted()
    {
        using var app = NewApp(maxBuckets: 2);
        var http = app.CreateClient();
        var api = new AnalysisClient(http);
        await api.CreateFlagAsync("otlp-full");
        var now = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v1/traces", Protobuf(Otlp.Export(Otlp.Request("otlp-full", "on", now, 5))))).StatusCode);
        // three buckets: the open one, the flag's other variant, and an earlier interval (made-up variants are rejected, not bucketed)
        var three = Otlp.Export(Otlp.Request("otlp-full", "on", now, 5).Concat(Otlp.Request("otlp-full", "off", now, 5)).Concat(Otlp.Request("otlp-full", "on", now.AddSeconds(-5), 5)));
        var shed = await http.PostAsync("/v1/traces", Protobuf(three));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);
        Assert.True(shed.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(14, RpcStatus.Parser.ParseFrom(await shed.Content.ReadAsByteArrayAsync()).Code);
        var buckets = app.Services.GetRequiredService<ImpactAggregator>();
        Assert.Equal(1, buckets.BucketCount);
    }

    [Fact]
    public async Task CleanStop_FlushesTheOpenInterval()
    {
        string id;
        var first = NewApp();
        using (first)
        {
            var api = new AnalysisClient(first.CreateClient());
            id = await api.CreateFlagAsync("otlp-stop");
            var ok = await api.Http.PostAsync("/v1/traces", Protobuf(Otlp.Export(Otlp.Request("otlp-stop", "on", DateTimeOffset.UtcNow, 5))));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var second = NewApp(first.DatabasePath);
        var metrics = await (await second.CreateClient().GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        Assert.Equal(1, Assert.Single(metrics.GetProperty("items").EnumerateArray()).GetProperty("requestCount").GetInt64());
    }

    internal static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }
}
