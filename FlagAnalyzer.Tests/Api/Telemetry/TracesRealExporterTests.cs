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
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromMinutes(2);
    private static readonly SemaphoreSlim NpmOnce = new(1, 1);
    private static bool _npmInstalled;

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
        await NpmCiAsync(folder);
        var (id, name, firstEnd) = await StartRolloutAsync($"node-{(regression ? "bad" : "ok")}");
        var key = await IngestKeyAsync();

        var (code, output) = await RunAsync("node",
            ["send-spans.mjs", new Uri(_base, "/v1/traces").ToString(), name, firstEnd.ToUnixTimeMilliseconds().ToString(), regression ? "1" : "0", key],
            folder, NodeTimeout);
        Assert.True(code == 0, $"node send-spans.mjs exited {code}: {output}");
        Assert.Contains($"\"spans\":{Traffic.Intervals * Traffic.PerVariant * 2 * 2}", output);

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

    private static async Task NpmCiAsync(string folder)
    {
        await NpmOnce.WaitAsync();
        try
        {
            if (_npmInstalled) return;
            // the SQLite and the PostgreSQL test assemblies run at the same time on this folder: one npm ci at a time
            // (a file lock across processes), and none once node_modules matches the lockfile, since npm ci would
            // delete node_modules under the other process's running node
            await using var crossProcess = await LockFileAsync(Path.Combine(Path.GetTempPath(), "flaganalyzer-node-exporter-npm.lock"));
            var installed = Path.Combine(folder, "node_modules", ".package-lock.json");
            if (!File.Exists(installed) || File.GetLastWriteTimeUtc(installed) < File.GetLastWriteTimeUtc(Path.Combine(folder, "package-lock.json")))
            {
                var (code, output) = await RunAsync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], folder, NpmTimeout);
                Assert.True(code == 0, $"npm ci in {folder} exited {code}: {output}");
            }
            _npmInstalled = true;
        }
        finally
        {
            NpmOnce.Release();
        }
    }

    private static async Task<FileStream> LockFileAsync(string path)
    {
        var deadline = DateTime.UtcNow + NpmTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // another process holds it; a file lock has no wait handle to await
            }
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string folder, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}; {await stdout} {await stderr}");
        }
        return (process.ExitCode, $"{await stdout} {await stderr}".Trim());
    }
}
