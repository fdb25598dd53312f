using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Tests.Api.Anomalies;
using FlagAnalyzer.Tests.Unit.Telemetry;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// One exporter cannot fill the aggregation for everyone (issue 23): spans naming a variant the flag does not have
/// are rejected, and one flag holds at most its share of the open flag × variant × interval buckets.
/// </summary>
public sealed class TraceFloodTests
{
    private static ByteArrayContent Protobuf(ExportTraceServiceRequest export)
    {
        var c = new ByteArrayContent(export.ToByteArray());
        c.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return c;
    }

    private static async Task<ExportTraceServiceResponse> OkAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task MadeUpVariants_AreRejectedAsPartialSuccess_NotStored_AndOtherFlagsStillExport()
    {
        using var app = TracesApiTests.NewApp(maxBuckets: 64);
        var api = new AnalysisClient(app.CreateClient());
        var flooded = await api.CreateFlagAsync("flooded");
        var other = await api.CreateFlagAsync("other");
        var now = DateTimeOffset.UtcNow;

        var flood = Otlp.Export(Enumerable.Range(0, 1020).SelectMany(i => Otlp.Request("flooded", $"made-up-{i}", now, 5)));
        var answer = await OkAsync(await api.Http.PostAsync("/v1/traces", Protobuf(flood)));
        var legit = await OkAsync(await api.Http.PostAsync("/v1/traces",
            Protobuf(Otlp.Export(Otlp.Request("other", "on", now, 5).Concat(Otlp.Request("flooded", "off", now, 5))))));

        Assert.Equal(1020, answer.PartialSuccess.RejectedSpans);
        Assert.Contains("variant", answer.PartialSuccess.ErrorMessage);
        Assert.Null(legit.PartialSuccess);
        Assert.Equal(2, await app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None));
        var samples = (await (await api.Http.GetAsync($"/api/flags/{flooded}/metrics")).ReadJson()).GetProperty("items");
        Assert.Equal("off", Assert.Single(samples.EnumerateArray()).GetProperty("variant").GetString());
        Assert.Single((await (await api.Http.GetAsync($"/api/flags/{other}/metrics")).ReadJson()).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task OneFlagBeyondItsShare_IsShed_WhileAnotherFlagStillExports()
    {
        using var app = TracesApiTests.NewApp(maxBuckets: 12);
        app.Settings["Telemetry:MaxBucketsPerFlag"] = "6";
        var api = new AnalysisClient(app.CreateClient());
        await api.CreateFlagAsync("greedy");
        await api.CreateFlagAsync("modest");
        var now = DateTimeOffset.UtcNow;

        // ten one-second intervals of the same real variant: ten buckets for one flag
        var greedy = Otlp.Export(Enumerable.Range(0, 10).SelectMany(i => Otlp.Request("greedy", "on", now.AddSeconds(-i), 5)));
        var shed = await api.Http.PostAsync("/v1/traces", Protobuf(greedy));
        var modest = await api.Http.PostAsync("/v1/traces",
            Protobuf(Otlp.Export(Enumerable.Range(0, 3).SelectMany(i => Otlp.Request("modest", "on", now.AddSeconds(-i), 5)))));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);
        Assert.True(shed.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, modest.StatusCode);
        Assert.Equal(3, app.Services.GetRequiredService<ImpactAggregator>().BucketCount);
    }
}
