using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Benchmarks.Common;

namespace FlagAnalyzer.Benchmarks.Reliability;

/// <summary>
/// <c>metrics-load</c>: wrk against the real API process on loopback (temp SQLite, no Redis, no LLM). Per round, in
/// one run: single-sample <c>POST /api/metrics</c> (the seed's way of sending, one flag), then the baseline
/// <c>GET /api/flags/{id}</c>, each <c>wrk -t2 -cN -dDs --latency</c>. Prints req/s and wrk's latency percentiles.
/// Options: <c>--connections 64 --seconds 10 --rounds 3</c>. Needs wrk on PATH (<c>apt-get install -y wrk</c>).
/// </summary>
public sealed partial class MetricsLoadScenario : IScenario
{
    public string Name => "metrics-load";

    public async Task<int> RunAsync(string[] args)
    {
        var connections = Measure.Option(args, "--connections", 64);
        var seconds = Measure.Option(args, "--seconds", 10);
        var rounds = Measure.Option(args, "--rounds", 3);
        // wrk sends single-sample POST /api/metrics with one key as fast as the API answers: the write limit is lifted so the
        // run measures ingestion, not the limiter
        await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted());
        using var http = api.CreateClient();
        var flag = await (await http.PostAsJsonAsync("/api/flags", new { name = "load", enabled = true, rolloutPercentage = 50 })).Content.ReadFromJsonAsync<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;
        var script = Path.Combine(Path.GetTempPath(), $"metrics-post-{Guid.NewGuid():N}.lua");
        // the README's sample, one per request
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = '{"flagId":"{{flagId}}","errorRate":0.5,"latencyP50":45,"latencyP99":120,"requestCount":5000,"conversionRate":3.2,"userSatisfactionScore":4.2}'
            """);
        Console.WriteLine($"metrics-load: API pid {api.ProcessId}; wrk -t2 -c{connections} -d{seconds}s --latency; {Environment.ProcessorCount} cores shared (wrk runs on them too); load average {Measure.LoadAverage()}");
        Console.WriteLine($"{"round",5} {"endpoint",-34} {"req/s",9} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"non-2xx",8} {"load avg",16}");
        try
        {
            // warm-up: JIT and connections
            await WrkAsync(api.BaseAddress, $"/api/flags/{flagId}", null, connections, 3);
            await WrkAsync(api.BaseAddress, "/api/metrics", script, connections, 3);
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (label, path, lua) in new[] { ("POST /api/metrics (1 sample)", "/api/metrics", script), ("GET /api/flags/{id} (baseline)", $"/api/flags/{flagId}", null) })
                {
                    var r = await WrkAsync(api.BaseAddress, path, lua, connections, seconds);
                    Console.WriteLine($"{round,5} {label,-34} {r.Rps,9:F0} {r.P50,8:F2} {r.P90,8:F2} {r.P99,8:F2} {r.Non2xx,8} {Measure.LoadAverage(),16}");
                }
            }
        }
        finally
        {
            File.Delete(script);
        }
        return 0;
    }

    internal sealed record WrkResult(double Rps, double P50, double P90, double P99, long Non2xx);

    internal static async Task<WrkResult> WrkAsync(Uri baseAddress, string path, string? script, int connections, int seconds)
    {
        var args = new List<string> { "-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "--timeout", "10s", "-H", $"Authorization: Bearer {ApiProcess.AdminKey}" };
        if (script is not null) args.AddRange(["-s", script]);
        args.Add(new Uri(baseAddress, path).ToString());
        var psi = new ProcessStartInfo("wrk", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var wrk = Process.Start(psi) ?? throw new InvalidOperationException("wrk did not start (apt-get install -y wrk)");
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        if (wrk.ExitCode != 0) throw new InvalidOperationException($"wrk failed: {output}{await wrk.StandardError.ReadToEndAsync()}");
        return new WrkResult(
            double.Parse(RpsLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(output, "50%"), Percentile(output, "90%"), Percentile(output, "99%"),
            Non2xxLine().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    private static double Percentile(string output, string label)
    {
        var m = Regex.Match(output, $@"^\s*{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xxLine();
}
