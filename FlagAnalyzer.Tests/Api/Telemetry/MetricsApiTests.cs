using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Api.Access;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// <c>POST /v1/metrics</c>: the OpenFeature metrics hook's success counter, sent as OTLP, becomes the flag's
/// exposures per variant (what GET /api/flags/{id}/exposures shows and the sample-ratio check reads).
/// </summary>
public sealed class OtlpMetricsApiTests : IDisposable
{
    private readonly ApiFactory _app = TracesApiTests.NewApp();
    private readonly HttpClient _http;
    private readonly AnalysisClient _api;

    public OtlpMetricsApiTests()
    {
        _http = _app.CreateClient();
        _api = new AnalysisClient(_http);
    }

    public void Dispose() => _app.Dispose();

    private static ulong Nanos(DateTimeOffset t) => (ulong)(t - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static KeyValue Str(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static NumberDataPoint Point(string flag, string? variant, long count, DateTimeOffset start, DateTimeOffset at)
    {
        var p = new NumberDataPoint { StartTimeUnixNano = Nanos(start), TimeUnixNano = Nanos(at), AsInt = count };
        p.Attributes.Add(Str("feature_flag.key", flag));
        p.Attributes.Add(Str("feature_flag.provider.name", "flagd"));
        if (variant is not null) p.Attributes.Add(Str("feature_flag.result.variant", variant));
        return p;
    }

    private static ExportMetricsServiceRequest Export(AggregationTemporality temporality, string instance, params NumberDataPoint[] points)
    {
        var sum = new Sum { AggregationTemporality = temporality, IsMonotonic = true };
        sum.DataPoints.AddRange(points);
        var resource = new Resource();
        resource.Attributes.Add(Str("service.name", "checkout"));
        resource.Attributes.Add(Str("service.instance.id", instance));
        var requests = new Sum { AggregationTemporality = temporality, IsMonotonic = true, DataPoints = { points.Select(p => p.Clone()) } };
        return new ExportMetricsServiceRequest
        {
            ResourceMetrics =
            {
                new ResourceMetrics
                {
                    Resource = resource,
                    ScopeMetrics =
                    {
                        new ScopeMetrics
                        {
                            Metrics =
                            {
                                new Metric { Name = MetricsIntake.SuccessCounter, Sum = sum },
                                // other metrics of the same export are accepted and ignored
                                new Metric { Name = "feature_flag.evaluation_requests_total", Sum = requests },
                            },
                        },
                    },
                },
            },
        };
    }

    private async Task<ExportMetricsServiceResponse> PostAsync(ExportMetricsServiceRequest export)
    {
        var content = new ByteArrayContent(export.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        var response = await _http.PostAsync("/v1/metrics", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ExportMetricsServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    private async Task<Dictionary<string, long>> ExposuresAsync(string flagId)
    {
        var body = await (await _http.GetAsync($"/api/flags/{flagId}/exposures?minutes=60")).ReadJson();
        return body.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task DeltaCounts_BecomeExposuresPerVariant()
    {
        var id = await _api.CreateFlagAsync("ofm-delta");
        var now = DateTimeOffset.UtcNow;

        var answer = await PostAsync(Export(AggregationTemporality.Delta, "a",
            Point("ofm-delta", "on", 30, now.AddSeconds(-10), now), Point("ofm-delta", "off", 70, now.AddSeconds(-10), now)));
        await PostAsync(Export(AggregationTemporality.Delta, "a", Point("ofm-delta", "on", 5, now, now.AddSeconds(1))));

        Assert.Null(answer.PartialSuccess);
        var exposures = await ExposuresAsync(id);
        Assert.Equal(35, exposures["on"]);
        Assert.Equal(70, exposures["off"]);
    }

    [Fact]
    public async Task VariantsSentAsBooleans_CountAsTheVariantOfThatValue_AsInTraces()
    {
        // some SDKs put a boolean flag's variant as a bool attribute: it names the variant whose value it is (on/off here)
        var id = await _api.CreateFlagAsync("ofm-bool");
        var now = DateTimeOffset.UtcNow;
        var on = Point("ofm-bool", null, 12, now.AddSeconds(-10), now);
        on.Attributes.Add(new KeyValue { Key = "feature_flag.result.variant", Value = new AnyValue { BoolValue = true } });
        var off = Point("ofm-bool", null, 8, now.AddSeconds(-10), now);
        off.Attributes.Add(new KeyValue { Key = "feature_flag.result.variant", Value = new AnyValue { BoolValue = false } });

        var answer = await PostAsync(Export(AggregationTemporality.Delta, "a", on, off));

        Assert.Null(answer.PartialSuccess);
        var exposures = await ExposuresAsync(id);
        Assert.Equal(12, exposures["on"]);
        Assert.Equal(8, exposures["off"]);
    }

    [Fact]
    public async Task CumulativeStreams_CountWhatTheyGrewBy_AndCountAgainAfterARestart()
    {
        var id = await _api.CreateFlagAsync("ofm-cumulative");
        var started = DateTimeOffset.UtcNow; // after the API started: the stream's first point counts in full
        var t = started.AddSeconds(1);

        await PostAsync(Export(AggregationTemporality.Cumulative, "a", Point("ofm-cumulative", "on", 10, started, t)));
        await PostAsync(Export(AggregationTemporality.Cumulative, "a", Point("ofm-cumulative", "on", 25, started, t.AddSeconds(1))));
        await PostAsync(Export(AggregationTemporality.Cumulative, "a", Point("ofm-cumulative", "on", 25, started, t.AddSeconds(2))));
        Assert.Equal(25, (await ExposuresAsync(id))["on"]);

        // another instance of the service is its own stream; a restart (new start time) counts from zero again
        await PostAsync(Export(AggregationTemporality.Cumulative, "b", Point("ofm-cumulative", "on", 4, started, t.AddSeconds(2))));
        await PostAsync(Export(AggregationTemporality.Cumulative, "a", Point("ofm-cumulative", "on", 3, t.AddSeconds(3), t.AddSeconds(4))));
        Assert.Equal(32, (await ExposuresAsync(id))["on"]);

        // a stream that began before this API started may have been counted by a previous run: its first point is the baseline
        var old = started.AddHours(-1);
        await PostAsync(Export(AggregationTemporality.Cumulative, "c", Point("ofm-cumulative", "off", 1000, old, t)));
        await PostAsync(Export(AggregationTemporality.Cumulative, "c", Point("ofm-cumulative", "off", 1010, old, t.AddSeconds(1))));
        Assert.Equal(10, (await ExposuresAsync(id))["off"]);
    }

    [Fact]
    public async Task UnusablePoints_AreReportedAsRejected_TheRestIsCounted()
    {
        var id = await _api.CreateFlagAsync("ofm-partial");
        var now = DateTimeOffset.UtcNow;

        var answer = await PostAsync(Export(AggregationTemporality.Delta, "a",
            Point("ofm-partial", "on", 7, now, now),
            Point("no-such-flag", "on", 3, now, now),
            Point("ofm-partial", null, 3, now, now),
            Point("ofm-partial", "on", -2, now, now),
            Point("ofm-partial", "on", 2, now, now.AddDays(-3))));

        Assert.Equal(4, answer.PartialSuccess.RejectedDataPoints);
        Assert.Contains("no-such-flag", answer.PartialSuccess.ErrorMessage);
        Assert.Equal(7, Assert.Single(await ExposuresAsync(id)).Value);
    }

    [Fact]
    public async Task JsonExport_IsAccepted_AndAnsweredInJson()
    {
        var id = await _api.CreateFlagAsync("ofm-json");
        var now = DateTimeOffset.UtcNow;
        // as the JS exporter writes it: camelCase names, 64-bit integers as strings, the temporality as a number
        var json = $$$"""
            {"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
              "scopeMetrics":[{"scope":{"name":"@openfeature/open-telemetry-hooks"},"metrics":[{"name":"feature_flag.evaluation_success_total","unit":"{evaluation}",
                "sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[{"attributes":[
                  {"key":"feature_flag.key","value":{"stringValue":"ofm-json"}},{"key":"feature_flag.result.variant","value":{"stringValue":"on"}}],
                  "startTimeUnixNano":"{{{Nanos(now.AddSeconds(-5))}}}","timeUnixNano":"{{{Nanos(now)}}}","asInt":"12"}]}}]}]}]}
            """;
        var response = await _http.PostAsync("/v1/metrics", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(12, (await ExposuresAsync(id))["on"]);
    }

    [Fact]
    public async Task BadInput_GetsAClear4xx_AndNothingIsCounted()
    {
        var id = await _api.CreateFlagAsync("ofm-bad");
        var good = Export(AggregationTemporality.Delta, "a", Point("ofm-bad", "on", 9, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).ToByteArray();

        var truncated = new ByteArrayContent(good[..^3]);
        truncated.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync("/v1/metrics", truncated)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync("/v1/metrics", new StringContent("{\"resourceMetrics\":[", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _http.PostAsync("/v1/metrics", new StringContent("x", Encoding.UTF8, "text/plain"))).StatusCode);

        var anonymous = new ByteArrayContent(good);
        anonymous.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateAnonymousClient().PostAsync("/v1/metrics", anonymous)).StatusCode);

        Assert.Empty(await ExposuresAsync(id));
    }
}
