using System.Text.Json;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;
using FlagAnalyzer.Tests.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// Clients nobody here wrote, over a real socket: the OpenFeature server SDK with the OpenFeature metrics hook, and the
/// OpenTelemetry JS metrics SDK with its OTLP/HTTP (JSON) exporter, in Node. What the application served, per variant,
/// is what the flag's exposures show.
/// </summary>
public sealed class MetricsRealExporterTests : IDisposable
{
    private readonly ApiFactory _app;
    private readonly Uri _base;
    private readonly HttpClient _http;

    public MetricsRealExporterTests()
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

    [Fact]
    public async Task OpenFeatureMetricsHook_ThroughTheNodeExporter_BecomesTheFlagsExposures()
    {
        var folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Api", "Telemetry", "node");
        await ChildProcess.NpmCiOnceAsync(folder);
        var flag = await (await _http.PostJson("/api/flags", new { name = "node-metrics-hook", targetEnvironment = "production" })).ReadJson();
        var key = (await _http.CreateKeyAsync("ingest", name: "otel-metrics")).Secret;

        var node = await ChildProcess.RunAsync("node",
            ["send-metrics.mjs", new Uri(_base, "/v1/metrics").ToString(), "node-metrics-hook", "500", key], folder, TimeSpan.FromMinutes(2));

        Assert.True(node.ExitCode == 0, $"node send-metrics.mjs exited {node.ExitCode}: {node.Output}");
        var served = JsonDocument.Parse(node.Output.Trim().Split('\n')[^1]).RootElement.GetProperty("served");
        Assert.Equal(150, served.GetProperty("on").GetInt32()); // the script's 30 % split of 500 keys
        var exposures = await (await _http.GetAsync($"/api/flags/{flag.GetProperty("id").GetString()}/exposures?minutes=60")).ReadJson();
        var byVariant = exposures.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
        Assert.Equal(served.GetProperty("on").GetInt64(), byVariant["on"]);
        Assert.Equal(served.GetProperty("off").GetInt64(), byVariant["off"]);
    }

    [Fact]
    public async Task OpenFeatureMetricsHook_OfAStagingApplication_WithAStagingKey_CountsInStaging_ForAProductionFlag()
    {
        // issue 26: the resource names staging and the key is scoped to it; the flag's home (production) does not matter
        var folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Api", "Telemetry", "node");
        await ChildProcess.NpmCiOnceAsync(folder);
        var flag = await (await _http.PostJson("/api/flags", new { name = "node-metrics-staging", targetEnvironment = "production" })).ReadJson();
        var id = flag.GetProperty("id").GetString();
        var key = (await _http.CreateKeyAsync("ingest", "staging", name: "otel-metrics-staging")).Secret;

        var node = await ChildProcess.RunAsync("node",
            ["send-metrics.mjs", new Uri(_base, "/v1/metrics").ToString(), "node-metrics-staging", "200", key, "staging"], folder, TimeSpan.FromMinutes(2));

        Assert.True(node.ExitCode == 0, $"node send-metrics.mjs exited {node.ExitCode}: {node.Output}");
        var served = JsonDocument.Parse(node.Output.Trim().Split('\n')[^1]).RootElement.GetProperty("served");
        async Task<Dictionary<string, long>> ExposuresAsync(string environment) =>
            (await (await _http.GetAsync($"/api/flags/{id}/exposures?minutes=60&environment={environment}")).ReadJson()).GetProperty("variants")
            .EnumerateArray().ToDictionary(v => v.GetProperty("variant").GetString()!, v => v.GetProperty("count").GetInt64());
        var staging = await ExposuresAsync("staging");
        Assert.Equal(served.GetProperty("on").GetInt64(), staging["on"]);
        Assert.Equal(served.GetProperty("off").GetInt64(), staging["off"]);
        Assert.Empty(await ExposuresAsync("production"));
    }
}
