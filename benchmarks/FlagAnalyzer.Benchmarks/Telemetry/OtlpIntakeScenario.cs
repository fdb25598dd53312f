using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using FlagAnalyzer.Benchmarks.Common;
using Google.Protobuf;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Telemetry;

/// <summary>
/// <c>otlp-traces</c>: OTLP trace intake against the real API process on 127.0.0.1, in one run:
/// (1) baseline — the same 512-span protobuf export decoded with Google.Protobuf alone, in this process, one thread;
/// (2) <c>POST /v1/traces</c> with that export, closed loop with <c>--clients</c> concurrent senders;
/// (3) overload — an open loop offering 5× the rate (2) reached, counting 200 / 429 / 503 and sampling the API's RSS.
/// <c>--in-process</c> measures (1) and the parse + attribution + aggregation alone; with <c>--parts</c>, also attribution alone and resolve + aggregate alone.
/// Options: <c>--runs N</c> (default 3), <c>--seconds S</c> per phase (default 10), <c>--clients C</c> (default 16: within the intake's 2 running + 16 queued, so the closed loop is not shed).
/// </summary>
public sealed class OtlpIntakeScenario : IScenario
{
    private const int SpansPerExport = 512;
    private const int Flags = 20;

    public string Name => "otlp-traces";

    public async Task<int> RunAsync(string[] args)
    {
        var runs = Option(args, "--runs", 3);
        var seconds = Option(args, "--seconds", 10);
        var clients = Option(args, "--clients", 16);
        var payload = Payload(DateTimeOffset.UtcNow);
        Console.WriteLine($"otlp-traces: {SpansPerExport}-span protobuf exports ({payload.Length / 1024.0:0.0} KB), {Flags} flags × 2 variants, {runs} runs of {seconds} s per phase, {clients} HTTP clients; load average before: {LoadAverage()}");
        Console.WriteLine($"{"run",4} {"decode spans/s",15} {"+attrib+agg",12} {"HTTP spans/s",13} {"ratio",6} {"offered ×",9} {"200",6} {"429",6} {"503",6} {"other",6} {"peak RSS MB",11}  load avg");

        if (args.Contains("--in-process"))
        {
            // the parse and the intake's own work only, alternated so load changes hit both alike
            if (args.Contains("--parts"))
            {
                var export0 = TraceIntake.Decode(payload, OtlpEncoding.Protobuf);
                var sw0 = Stopwatch.StartNew(); var n0 = 0;
                while (sw0.Elapsed < TimeSpan.FromSeconds(seconds)) { SpanAttribution.Attribute(export0, DateTimeOffset.UtcNow, SpanTimeLimits.Default); n0++; }
                Console.WriteLine($"attribute only: {n0 * SpansPerExport / sw0.Elapsed.TotalSeconds:N0} spans/s");
                var a0 = SpanAttribution.Attribute(export0, DateTimeOffset.UtcNow, SpanTimeLimits.Default);
                var ids0 = Enumerable.Range(0, Flags).ToDictionary(f => $"otlp-bench-{f}", f => $"flg_{f}");
                var agg0 = new ImpactAggregator(TimeSpan.FromMinutes(1), 100_000);
                sw0.Restart(); n0 = 0;
                while (sw0.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    var resolved = a0.Observations.Select(o => new ResolvedObservation(ids0[o.FlagKey], o.Variant == "off" ? Cohort.Control : Cohort.Treatment, o)).ToList();
                    agg0.TryAdd(resolved); n0++;
                }
                Console.WriteLine($"resolve+aggregate only: {n0 * SpansPerExport / sw0.Elapsed.TotalSeconds:N0} spans/s");
            }
            for (var run = 1; run <= runs; run++)
                Console.WriteLine($"in-process run {run}: decode {DecodeRate(payload, TimeSpan.FromSeconds(seconds)):N0} spans/s, " +
                                  $"+ attribution + aggregation {PipelineRate(payload, TimeSpan.FromSeconds(seconds)):N0} spans/s; load average {LoadAverage()}");
            return 0;
        }
        var rows = new List<(double Decode, double Http, double Ratio, double PeakMb)>();
        for (var run = 1; run <= runs; run++)
        {
            // closed and open loops of exports from one key, far above 500 writes/s: the write limit is lifted so the overload
            // step measures the intake's own shedding (429 from its gate, 503 when the aggregation is full)
            await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted(new Dictionary<string, string> { ["Logging__LogLevel__FlagAnalyzer"] = "Error" }));
            using var http = ApiProcess.Authorize(new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) });
            for (var f = 0; f < Flags; f++)
                (await http.PostAsync("/api/flags", new StringContent($$"""{"name":"otlp-bench-{{f}}"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            payload = Payload(DateTimeOffset.UtcNow);

            var decode = DecodeRate(payload, TimeSpan.FromSeconds(seconds));
            var pipeline = PipelineRate(payload, TimeSpan.FromSeconds(Math.Max(1, seconds / 2)));
            await ClosedLoopAsync(http, payload, clients, TimeSpan.FromSeconds(2)); // warm-up
            var apiProcess = Process.GetProcessById(api.ProcessId);
            var (apiCpu0, ownCpu0) = (apiProcess.TotalProcessorTime, Process.GetCurrentProcess().TotalProcessorTime);
            var rate = await ClosedLoopAsync(http, payload, clients, TimeSpan.FromSeconds(seconds));
            apiProcess.Refresh();
            var exports = rate * seconds / SpansPerExport;
            var apiMs = (apiProcess.TotalProcessorTime - apiCpu0).TotalMilliseconds / exports;
            var ownMs = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu0).TotalMilliseconds / exports;
            Console.WriteLine($"     CPU per export in the closed loop: API {apiMs:0.000} ms, client (this process) {ownMs:0.000} ms; " +
                              $"decode alone {1000.0 * SpansPerExport / decode:0.000} ms, decode + attribution + aggregation {1000.0 * SpansPerExport / pipeline:0.000} ms");
            var overload = await OpenLoopAsync(http, api, payload, rate * 5, TimeSpan.FromSeconds(seconds));
            rows.Add((decode, rate, rate / decode, overload.PeakRss / 1048576.0));
            Console.WriteLine($"{run,4} {decode,15:N0} {pipeline,12:N0} {rate,13:N0} {rate / decode,6:0.00} {overload.OfferedFactor,9:0.0} {overload.Ok,6} {overload.TooMany,6} {overload.Unavailable,6} {overload.Other,6} {overload.PeakRss / 1048576.0,11:0.0}  {LoadAverage()}");
        }

        Console.WriteLine($"median of {runs}: decode {Measure.MedianAndRange(rows.Select(r => r.Decode), "N0")} spans/s; HTTP {Measure.MedianAndRange(rows.Select(r => r.Http), "N0")} spans/s; " +
                          $"ratio {Measure.MedianAndRange(rows.Select(r => r.Ratio), "0.00")}; peak RSS under 5× {Measure.MedianAndRange(rows.Select(r => r.PeakMb), "0")} MB; load average after: {LoadAverage()}");
        return 0;
    }

    /// <summary>256 requests, each a server span (with the attributes an HTTP server instrumentation adds) and a child with the evaluation event.</summary>
    public static byte[] Payload(DateTimeOffset end)
    {
        var export = new ExportTraceServiceRequest();
        var scope = new ScopeSpans();
        export.ResourceSpans.Add(new ResourceSpans { ScopeSpans = { scope } });
        var random = new Random(42);
        Span<byte> id = stackalloc byte[16];
        for (var i = 0; i < SpansPerExport / 2; i++)
        {
            random.NextBytes(id);
            var trace = ByteString.CopyFrom(id);
            random.NextBytes(id[..8]);
            var rootId = ByteString.CopyFrom(id[..8]);
            random.NextBytes(id[..8]);
            var childId = ByteString.CopyFrom(id[..8]);
            var endNs = (ulong)(end - DateTimeOffset.UnixEpoch).Ticks * 100 - (ulong)i * 1000;
            var latencyNs = (ulong)(20 + random.Next(200)) * 1_000_000;
            var failing = random.Next(100) < 2;
            scope.Spans.Add(new FlagAnalyzer.Api.Telemetry.Otlp.Span
            {
                TraceId = trace, SpanId = childId, ParentSpanId = rootId, Kind = FlagAnalyzer.Api.Telemetry.Otlp.Span.Types.SpanKind.Internal,
                StartTimeUnixNano = endNs - latencyNs + 1000, EndTimeUnixNano = endNs - latencyNs + 2000,
                Events =
                {
                    new FlagAnalyzer.Api.Telemetry.Otlp.Span.Types.Event
                    {
                        Name = "feature_flag.evaluation", TimeUnixNano = endNs - latencyNs + 1500,
                        Attributes =
                        {
                            Str("feature_flag.key", $"otlp-bench-{i % Flags}"), Str("feature_flag.result.variant", i % 2 == 0 ? "on" : "off"),
                            Str("feature_flag.provider.name", "flagd"), Str("feature_flag.result.reason", "TARGETING_MATCH"),
                        },
                    },
                },
            });
            var root = new FlagAnalyzer.Api.Telemetry.Otlp.Span
            {
                TraceId = trace, SpanId = rootId, Kind = FlagAnalyzer.Api.Telemetry.Otlp.Span.Types.SpanKind.Server,
                StartTimeUnixNano = endNs - latencyNs, EndTimeUnixNano = endNs,
                Attributes =
                {
                    Str("http.request.method", "GET"), Str("url.path", $"/checkout/{i}"), Str("url.scheme", "https"), Str("http.route", "/checkout/{id}"),
                    Str("server.address", "shop.example"), Int("server.port", 443), Str("network.protocol.version", "1.1"),
                    Str("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"), Int("http.response.status_code", failing ? 500 : 200),
                },
            };
            if (failing) root.Status = new SpanStatus { Code = SpanStatus.Types.StatusCode.Error };
            scope.Spans.Add(root);
        }
        return export.ToByteArray();
    }

    private static KeyValue Str(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
    private static KeyValue Int(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    /// <summary>Spans per second decoded by Google.Protobuf alone (the parser the endpoint uses), one thread.</summary>
    private static double DecodeRate(byte[] payload, TimeSpan duration)
    {
        for (var i = 0; i < 200; i++) TraceIntake.Decode(payload, OtlpEncoding.Protobuf);
        var sw = Stopwatch.StartNew();
        long exports = 0;
        while (sw.Elapsed < duration)
        {
            var decoded = TraceIntake.Decode(payload, OtlpEncoding.Protobuf);
            if (decoded.ResourceSpans.Count == 0) throw new InvalidOperationException();
            exports++;
        }
        return exports * SpansPerExport / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Decode + attribution + aggregation in this process, one thread, no HTTP (flags resolved from a dictionary).</summary>
    private static double PipelineRate(byte[] payload, TimeSpan duration)
    {
        var aggregator = new ImpactAggregator(TimeSpan.FromMinutes(1), 100_000);
        var ids = Enumerable.Range(0, Flags).ToDictionary(f => $"otlp-bench-{f}", f => $"flg_{f}");
        var sw = Stopwatch.StartNew();
        long exports = 0;
        while (sw.Elapsed < duration)
        {
            var export = TraceIntake.Decode(payload, OtlpEncoding.Protobuf);
            var a = SpanAttribution.Attribute(export, DateTimeOffset.UtcNow, SpanTimeLimits.Default);
            var resolved = a.Observations.Select(o => new ResolvedObservation(ids[o.FlagKey], o.Variant == "off" ? Cohort.Control : Cohort.Treatment, o)).ToList();
            if (!aggregator.TryAdd(resolved)) throw new InvalidOperationException();
            exports++;
        }
        return exports * SpansPerExport / sw.Elapsed.TotalSeconds;
    }

    private static ByteArrayContent Content(byte[] payload)
    {
        var c = new ByteArrayContent(payload);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return c;
    }

    private static async Task<double> ClosedLoopAsync(HttpClient http, byte[] payload, int clients, TimeSpan duration)
    {
        var sw = Stopwatch.StartNew();
        long ok = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (sw.Elapsed < duration)
            {
                using var r = await http.PostAsync("/v1/traces", Content(payload));
                if (r.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref ok);
            }
        }));
        return ok * SpansPerExport / sw.Elapsed.TotalSeconds;
    }

    private sealed record Overload(double OfferedFactor, int Ok, int TooMany, int Unavailable, int Other, long PeakRss);

    /// <summary>Starts exports at <paramref name="spansPerSecond"/> whatever the answers, for the duration; samples RSS every 100 ms.</summary>
    private static async Task<Overload> OpenLoopAsync(HttpClient http, ApiProcess api, byte[] payload, double spansPerSecond, TimeSpan duration)
    {
        int ok = 0, tooMany = 0, unavailable = 0, other = 0;
        long peak = 0;
        var interval = TimeSpan.FromSeconds(SpansPerExport / spansPerSecond);
        var sw = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, api.ResidentBytes());
                await Task.Delay(100);
            }
        });
        long started = 0;
        while (sw.Elapsed < duration)
        {
            // catch up to the schedule: the offered rate does not depend on how fast the API answers
            while (started * interval.TotalSeconds < sw.Elapsed.TotalSeconds)
            {
                started++;
                inFlight.Add(Task.Run(async () =>
                {
                    try
                    {
                        using var r = await http.PostAsync("/v1/traces", Content(payload));
                        switch ((int)r.StatusCode)
                        {
                            case 200: Interlocked.Increment(ref ok); break;
                            case 429: Interlocked.Increment(ref tooMany); break;
                            case 503: Interlocked.Increment(ref unavailable); break;
                            default: Interlocked.Increment(ref other); break;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        Interlocked.Increment(ref other);
                    }
                }));
            }
            await Task.Delay(1);
        }
        var offered = started * SpansPerExport / sw.Elapsed.TotalSeconds;
        await Task.WhenAll(inFlight);
        sampling.Cancel();
        await sampler;
        peak = Math.Max(peak, api.ResidentBytes());
        return new Overload(offered / (spansPerSecond / 5), ok, tooMany, unavailable, other, peak);
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
