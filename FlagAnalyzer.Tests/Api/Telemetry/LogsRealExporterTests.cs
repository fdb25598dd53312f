using System.Text.Json;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using FlagAnalyzer.Tests.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Clients nobody here wrote, over real sockets: the OpenFeature server SDK with the OpenFeature EventHook emitting
/// feature_flag.evaluation log records, the OpenTelemetry JS logs SDK and its OTLP/HTTP protobuf exporter, and the trace
/// SDK with its OTLP/HTTP JSON exporter, in Node (send-evaluations.mjs). The spans carry no span events: FlagAnalyzer
/// learns the variant of each request only by joining the records to the spans, which arrive entirely before or after.
/// </summary>
public sealed class LogsRealExporterTests : IDisposable
{
    private const int PerVariant = 50; // as in send-evaluations.mjs

    private readonly ApiFactory _app;
    private readonly Uri _base;
    private readonly HttpClient _http;

    public LogsRealExporterTests()
    {
        _app = TracesApiTests.NewApp();
        _app.UseKestrel(0);
        _app.StartServer();
        _base = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        _http = new HttpClient { BaseAddress = _base }.WithAdminKey();
    }

    public void Dispose()
    {
        _http.Dispose();
        _app.Dispose();
    }

    [Theory]
    [InlineData("spans-first")]
    [InlineData("logs-first")]
    public Task OpenFeatureEventHook_ThroughTheNodeLogsExporter_JoinsItsSpans_IntoPerVariantSamples(string order) => SendAndCheckAsync(order, null);

    [Fact]
    public async Task OpenFeatureEventHook_OfAStagingApplication_WithAStagingKey_LandsInStaging_ForAProductionFlag()
    {
        // issue 26: records and spans whose resource names staging, from a staging key; the flag's home is production
        var id = await SendAndCheckAsync("logs-first", "staging");
        var production = await (await _http.GetAsync($"/api/flags/{id}/metrics?environment=production")).ReadJson();
        Assert.Empty(production.GetProperty("items").EnumerateArray());
        var exposures = await (await _http.GetAsync($"/api/flags/{id}/exposures?minutes=60&environment=production")).ReadJson();
        Assert.Empty(exposures.GetProperty("variants").EnumerateArray());
    }

    /// <summary>Runs send-evaluations.mjs (resource naming <paramref name="environment"/>, a key scoped to it) and checks what landed there.</summary>
    private async Task<string> SendAndCheckAsync(string order, string? environment)
    {
        var folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Api", "Telemetry", "node");
        await ChildProcess.NpmCiOnceAsync(folder);
        var name = $"node-event-hook-{order}{(environment is null ? "" : $"-{environment}")}";
        var flag = await (await _http.PostJson("/api/flags", new { name, targetEnvironment = "production" })).ReadJson();
        var id = flag.GetProperty("id").GetString()!;
        var key = (await _http.CreateKeyAsync("ingest", environment, name: "otel-logs")).Secret;
        // every request ends within the first 100 ms of one second: one 1-second sample interval per variant
        var second = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 * 1000;

        var node = await ChildProcess.RunAsync("node",
            ["send-evaluations.mjs", new Uri(_base, "/v1/traces").ToString(), new Uri(_base, "/v1/logs").ToString(), name, (second + 10).ToString(), order, key, .. environment is null ? Array.Empty<string>() : [environment]],
            folder, TimeSpan.FromMinutes(2));

        Assert.True(node.ExitCode == 0, $"node send-evaluations.mjs exited {node.ExitCode}: {node.Output}");
        var sent = JsonDocument.Parse(node.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(PerVariant * 2 * 2, sent.GetProperty("spans").GetInt32()); // a server span and its child per request
        Assert.Equal(PerVariant * 2, sent.GetProperty("records").GetInt32());

        await _app.Services.GetRequiredService<ImpactFlusher>().FlushAsync(all: true, CancellationToken.None);
        var where = environment is null ? "" : $"?environment={environment}";
        var samples = (await (await _http.GetAsync($"/api/flags/{id}/metrics{where}")).ReadJson()).GetProperty("items").EnumerateArray()
            .ToDictionary(s => s.GetProperty("variant").GetString()!);
        Assert.Equal(2, samples.Count);
        var on = samples["on"];
        var off = samples["off"];
        Assert.Equal(("treatment", "control"), (on.GetProperty("cohort").GetString(), off.GetProperty("cohort").GetString()));
        Assert.Equal(PerVariant, on.GetProperty("requestCount").GetInt64());
        Assert.Equal(PerVariant, off.GetProperty("requestCount").GetInt64());
        Assert.Equal(20.0, on.GetProperty("errorRate").GetDouble(), 6); // every 5th "on" request failed
        Assert.Equal(0.0, off.GetProperty("errorRate").GetDouble());
        // 40 and 20 ms requests, within the 2-significant-digit histogram's 1 %
        Assert.InRange(on.GetProperty("latencyP50").GetDouble(), 40, 40.4);
        Assert.InRange(on.GetProperty("latencyP99").GetDouble(), 40, 40.4);
        Assert.InRange(off.GetProperty("latencyP50").GetDouble(), 20, 20.2);

        var exposures = await (await _http.GetAsync($"/api/flags/{id}/exposures?minutes=60{(environment is null ? "" : $"&environment={environment}")}")).ReadJson();
        var byVariant = exposures.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
        Assert.Equal(PerVariant, byVariant["on"]);
        Assert.Equal(PerVariant, byVariant["off"]);
        return id;
    }
}
