using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Tests.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Exporters nobody here wrote, over real sockets: the .NET OpenTelemetry SDK's OTLP exporter (http/protobuf) in this
/// process, and the npm OTLP/HTTP trace exporter (JSON) in Node. A treatment variant that fails 3× as often as
/// control raises an error_spike naming the variant; the same traffic without the regression raises nothing.
/// </summary>
public sealed class TracesRealExporterTests : IDisposable
{
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromMinutes(2);

    private readonly ApiFactory _app;
    private readonly Uri _base;
    private readonly HttpClient _http;

    public TracesRealExporterTests()
    {
        _app = TracesApiTests.NewApp();
        _app.UseKestrel(0);
        _app.StartServer();
        _base = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _http = new HttpClient { BaseAddress = _base }.WithAdminKey();
    }

    /// <summary>What an operator gives an exporter: a key of the ingest role, which may send telemetry and nothing else.</summary>
    private async Task<string> IngestKeyAsync() => (await _http.CreateKeyAsync("ingest", name: "otel-exporter")).Secret;

    public void Dispose()
    {
        _http.Dispose();
        _app.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DotNetSdk_HttpProtobuf(bool regression)
    {
        var (id, name, firstEnd) = await StartRolloutAsync($"dotnet-{(regression ? "bad" : "ok")}");
        var key = await IngestKeyAsync();

        using var source = new ActivitySource($"FlagAnalyzer.Tests.Checkout.{Guid.NewGuid():N}");
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .ConfigureResource(r => r.AddService("dotnet-checkout"))
            .AddOtlpExporter(o =>
            {
                o.Endpoint = new Uri(_base, "/v1/traces");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                o.Headers = $"X-API-Key={key}";
                o.BatchExportProcessorOptions = new BatchExportActivityProcessorOptions
                {
                    MaxQueueSize = 100_000, MaxExportBatchSize = 512, ScheduledDelayMilliseconds = 50,
                };
            })
            .Build();

        var previous = Activity.Current;
        Activity.Current = null;
        foreach (var (variant, end, latencyMs, failing) in Traffic.Requests(firstEnd, regression))
        {
            var start = end.AddMilliseconds(-latencyMs);
            using var root = source.StartActivity("GET /checkout", ActivityKind.Server, default(ActivityContext), startTime: start)!;
            using (var child = source.StartActivity("evaluate flag", ActivityKind.Internal, root.Context, startTime: start.AddMilliseconds(1))!)
            {
                child.AddEvent(new ActivityEvent("feature_flag.evaluation", start.AddMilliseconds(1),
                    new ActivityTagsCollection { ["feature_flag.key"] = name, ["feature_flag.result.variant"] = variant }));
                child.SetEndTime(start.AddMilliseconds(2).UtcDateTime);
            }
            root.SetTag("http.response.status_code", failing ? 500 : 200);
            if (failing) root.SetStatus(ActivityStatusCode.Error);
            root.SetEndTime(end.UtcDateTime);
        }
        Activity.Current = previous;
        // Shutdown, not ForceFlush: it returns only once the export thread has sent its last batch and stopped
        Assert.True(provider.Shutdown(30_000), "the OTLP exporter did not finish in 30 s");

        await AssertOutcomeAsync(id, regression);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NodeSdk_HttpJson(bool regression)
    {
        var folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Api", "Telemetry", "node");
        await ChildProcess.NpmCiOnceAsync(folder);
        var (id, name, firstEnd) = await StartRolloutAsync($"node-{(regression ? "bad" : "ok")}");
        var key = await IngestKeyAsync();

        var node = await ChildProcess.RunAsync("node",
            ["send-spans.mjs", new Uri(_base, "/v1/traces").ToString(), name, firstEnd.ToUnixTimeMilliseconds().ToString(), regression ? "1" : "0", key],
            folder, NodeTimeout);
        Assert.True(node.ExitCode == 0, $"node send-spans.mjs exited {node.ExitCode}: {node.Output}");
        Assert.Contains($"\"spans\":{Traffic.Intervals * Traffic.PerVariant * 2 * 2}", node.Output);

        await AssertOutcomeAsync(id, regression);
    }

    /// <summary>A flag enabled at 50 %: control and treatment requests split evenly, as the rollout promises.</summary>
    private async Task<(string Id, string Name, DateTimeOffset FirstEnd)> StartRolloutAsync(string name)
    {
        var flag = await (await _http.PostAsJsonAsync("/api/flags", new { name, targetEnvironment = "production" }, ApiFactory.JsonOptions)).ReadJson();
        var id = flag.GetProperty("id").GetString()!;
        await (await _http.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true, rolloutPercentage = 50 }, ApiFactory.JsonOptions)).ReadJson();
        return (id, name, Traffic.FirstEnd(DateTimeOffset.UtcNow));
    }

    private async Task AssertOutcomeAsync(string flagId, bool regression)
    {
        await _app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);

        var samples = (await (await _http.GetAsync($"/api/flags/{flagId}/metrics")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(Traffic.Intervals * 2, samples.Count);
        Assert.All(samples, s => Assert.Equal(Traffic.PerVariant, s.GetProperty("requestCount").GetInt64()));
        Assert.Equal(Traffic.Intervals, samples.Count(s => s.GetProperty("variant").GetString() == "on" && s.GetProperty("cohort").GetString() == "treatment"));
        Assert.Equal(Traffic.Intervals, samples.Count(s => s.GetProperty("variant").GetString() == "off" && s.GetProperty("cohort").GetString() == "control"));

        var anomalies = (await (await _http.GetAsync($"/api/anomalies?flagId={flagId}&status=all")).ReadJson()).GetProperty("items").EnumerateArray().ToList();
        if (!regression)
        {
            Assert.Empty(anomalies);
            return;
        }
        var spike = Assert.Single(anomalies, a => a.GetProperty("type").GetString() == "error_spike");
        Assert.Equal("on", spike.GetProperty("variant").GetString());
        Assert.Contains("treatment variant 'on' vs control", spike.GetProperty("message").GetString());
        Assert.DoesNotContain(anomalies, a => a.GetProperty("type").GetString() != "error_spike");
    }
}
