using System.Net;
using System.Text;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Issue 26 item 3 on <c>POST /v1/metrics</c> and <c>POST /v1/logs</c>, as on <c>/v1/traces</c>
/// (<see cref="TraceEnvironmentTests"/>): a point or record counts in the environment its resource names, else the
/// ingest key's, else the flag's home, for any flag whatever its home; a staging-scoped key's data naming production is
/// rejected, counted, and lands nowhere; and a log record joins only a span of its own environment. The flags' home is
/// production throughout, so what lands in staging is there because of the rule, never because of the home.
/// </summary>
public sealed class MetricsLogsEnvironmentTests : EnvironmentIntakeTestBase
{
    private async Task<HttpClient> StagingIngestAsync() => App.CreateClient().WithKey((await Admin.CreateKeyAsync("ingest", "staging")).Secret);

    private async Task<Dictionary<string, long>> ExposuresAsync(string id, string environment)
    {
        var body = await (await Admin.GetAsync($"/api/flags/{id}/exposures?minutes=60&environment={environment}")).ReadJson();
        Assert.Equal(environment, body.GetProperty("environment").GetString());
        return body.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
    }

    private static ResourceMetrics Points(string? environment, params (string Flag, string Variant, long Count)[] points)
    {
        var now = DateTimeOffset.UtcNow;
        var sum = new Sum { AggregationTemporality = AggregationTemporality.Delta, IsMonotonic = true };
        foreach (var (flag, variant, count) in points)
            sum.DataPoints.Add(new NumberDataPoint
            {
                StartTimeUnixNano = Otlp.Nanos(now.AddSeconds(-10)), TimeUnixNano = Otlp.Nanos(now), AsInt = count,
                Attributes = { Otlp.Attr("feature_flag.key", flag), Otlp.Attr("feature_flag.result.variant", variant) },
            });
        var resource = new Resource { Attributes = { Otlp.Attr("service.name", "checkout") } };
        if (environment is not null) resource.Attributes.Add(Otlp.Attr(SpanAttribution.EnvironmentAttribute, environment));
        return new ResourceMetrics
        {
            Resource = resource,
            ScopeMetrics = { new ScopeMetrics { Metrics = { new Metric { Name = MetricsIntake.SuccessCounter, Sum = sum } } } },
        };
    }

    private static ExportTraceServiceRequest Spans(IEnumerable<Span> spans, string? environment)
    {
        var export = Otlp.Export(spans);
        if (environment is not null) export.ResourceSpans[0].Resource.Attributes.Add(Otlp.Attr(SpanAttribution.EnvironmentAttribute, environment));
        return export;
    }

    /// <summary>Six "on" requests (the first failing) and three "off" ones ending now, their evaluations moved to log records.</summary>
    private static (List<Span> Spans, List<LogRecord> Records) Traffic(string flag)
    {
        var end = DateTimeOffset.UtcNow;
        return OtlpLogs.MoveEventsToLogs(Enumerable.Range(0, 6).SelectMany(i => Otlp.Request(flag, "on", end, latencyMs: 40 + i, error: i == 0))
            .Concat(Enumerable.Range(0, 3).SelectMany(_ => Otlp.Request(flag, "off", end, latencyMs: 20))));
    }

    private static async Task<T> AnswerAsync<T>(HttpResponseMessage response, MessageParser<T> parser) where T : IMessage<T>
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Metrics_ResourceEnvironment_PicksTheEnvironment_ElseTheHome()
    {
        var id = await FlagAsync("otlp-m-env");
        var legacy = Points(null, ("otlp-m-env", "on", 2));
        legacy.Resource.Attributes.Add(Otlp.Attr(SpanAttribution.LegacyEnvironmentAttribute, "development"));
        var export = new ExportMetricsServiceRequest { ResourceMetrics = { Points("staging", ("otlp-m-env", "on", 4)), legacy, Points(null, ("otlp-m-env", "on", 6)) } };

        var answer = await AnswerAsync(await Admin.PostAsync("/v1/metrics", Protobuf(export)), ExportMetricsServiceResponse.Parser);

        Assert.Null(answer.PartialSuccess);
        Assert.Equal(4, (await ExposuresAsync(id, "staging"))["on"]);
        Assert.Equal(2, (await ExposuresAsync(id, "development"))["on"]);
        Assert.Equal(6, (await ExposuresAsync(id, "production"))["on"]);
    }

    [Fact]
    public async Task Metrics_FromAStagingIngestKey_CountInStaging_ForAProductionFlag_AndNamingProductionIsRejected()
    {
        var id = await FlagAsync("otlp-m-scoped");
        using var staging = await StagingIngestAsync();
        var export = new ExportMetricsServiceRequest
        {
            ResourceMetrics =
            {
                Points(null, ("otlp-m-scoped", "on", 30), ("otlp-m-scoped", "off", 70)),
                Points("staging", ("otlp-m-scoped", "on", 5)),
                Points("production", ("otlp-m-scoped", "on", 1000), ("otlp-m-scoped", "off", 1)),
            },
        };

        var answer = await AnswerAsync(await staging.PostAsync("/v1/metrics", Protobuf(export)), ExportMetricsServiceResponse.Parser);

        Assert.Equal(2, answer.PartialSuccess?.RejectedDataPoints);
        Assert.Contains("otlp-m-scoped@production", answer.PartialSuccess!.ErrorMessage);
        Assert.Equal(new Dictionary<string, long> { ["on"] = 35, ["off"] = 70 }, await ExposuresAsync(id, "staging"));
        // production's sample-ratio evidence is untouched
        Assert.Empty(await ExposuresAsync(id, "production"));
    }

    [Fact]
    public async Task Logs_FromAStagingIngestKey_LandInStaging_JoinedToTheirSpans_ForAProductionFlag_AndNamingProductionIsRejected()
    {
        var id = await FlagAsync("otlp-l-scoped");
        using var staging = await StagingIngestAsync();
        var (spans, records) = Traffic("otlp-l-scoped");
        var (_, productionRecords) = Traffic("otlp-l-scoped");
        var export = OtlpLogs.Export(records);
        export.ResourceLogs.Add(OtlpLogs.Export(productionRecords, "production").ResourceLogs[0]);

        Assert.Null((await AnswerAsync(await staging.PostAsync("/v1/traces", Protobuf(Spans(spans, null))), ExportTraceServiceResponse.Parser)).PartialSuccess);
        var answer = await AnswerAsync(await staging.PostAsync("/v1/logs", Protobuf(export)), ExportLogsServiceResponse.Parser);

        Assert.Equal(productionRecords.Count, answer.PartialSuccess?.RejectedLogRecords);
        Assert.Contains("otlp-l-scoped@production", answer.PartialSuccess!.ErrorMessage);
        Assert.True(await FlushAsync() > 0);
        Assert.Equal(new Dictionary<string, long> { ["on"] = 6, ["off"] = 3 }, await RequestsAsync(id, "staging"));
        Assert.Equal(new Dictionary<string, long> { ["on"] = 6, ["off"] = 3 }, await ExposuresAsync(id, "staging"));
        // production's evidence — impact samples and exposures — is untouched
        Assert.Empty(await RequestsAsync(id, "production"));
        Assert.Empty(await ExposuresAsync(id, "production"));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Logs_CountInTheirResourcesEnvironment_AndJoinOnlySpansOfThatEnvironment(bool spansFirst, bool json)
    {
        var same = await FlagAsync("otlp-l-same");
        var crossed = await FlagAsync("otlp-l-crossed");
        var (sameSpans, sameRecords) = Traffic("otlp-l-same");
        var (crossedSpans, crossedRecords) = Traffic("otlp-l-crossed");
        // one application's spans say staging; the records of the first flag say so too, the second's say production
        var spans = Spans(sameSpans.Concat(crossedSpans), "staging");
        var logs = OtlpLogs.Export(sameRecords, "staging");
        logs.ResourceLogs.Add(OtlpLogs.Export(crossedRecords, "production").ResourceLogs[0]);
        var logsBody = json
            ? new StringContent(OtlpLogs.ToJson(logs), Encoding.UTF8, "application/json")
            : (HttpContent)Protobuf(logs);

        if (spansFirst) await AnswerAsync(await Admin.PostAsync("/v1/traces", Protobuf(spans)), ExportTraceServiceResponse.Parser);
        var response = await Admin.PostAsync("/v1/logs", logsBody);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = json
            ? JsonParser.Default.Parse<ExportLogsServiceResponse>(await response.Content.ReadAsStringAsync())
            : ExportLogsServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        if (!spansFirst) await AnswerAsync(await Admin.PostAsync("/v1/traces", Protobuf(spans)), ExportTraceServiceResponse.Parser);

        Assert.Equal(0, answer.PartialSuccess?.RejectedLogRecords ?? 0);
        if (spansFirst) Assert.Contains($"{crossedRecords.Count} evaluation(s) were emitted in a span that counts in another environment", answer.PartialSuccess!.ErrorMessage);
        await FlushAsync();
        Assert.Equal(new Dictionary<string, long> { ["on"] = 6, ["off"] = 3 }, await RequestsAsync(same, "staging"));
        Assert.Equal(new Dictionary<string, long> { ["on"] = 6, ["off"] = 3 }, await ExposuresAsync(same, "staging"));
        Assert.Empty(await RequestsAsync(same, "production"));
        // every record is an exposure where it says it ran; a production record never takes a staging span's latency and errors
        Assert.Equal(new Dictionary<string, long> { ["on"] = 6, ["off"] = 3 }, await ExposuresAsync(crossed, "production"));
        Assert.Empty(await RequestsAsync(crossed, "production"));
        Assert.Empty(await RequestsAsync(crossed, "staging"));
        Assert.Empty(await ExposuresAsync(crossed, "staging"));
    }
}
