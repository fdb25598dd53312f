using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Benchmarks.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Evaluation;

/// <summary>
/// <c>ofrep-load</c>: <c>POST /ofrep/v1/evaluate/flags/{key}</c> on the real API (its own process, Production, full
/// pipeline) for a flag with a targeting rule and a fractional split, against a bare Kestrel endpoint in this
/// process answering the same bytes, both driven by <c>wrk</c> at 64 connections over loopback. Rounds alternate
/// baseline/OFREP; the report gives each side's median req/s and p99 with their range, the ratio of medians,
/// and the load average before and after.
/// Options: <c>--rounds 3 --seconds 10 --connections 64 --threads 2</c>; <c>--compare path/to/FlagAnalyzer.Api.dll</c> (another
/// build, e.g. the base commit's) and/or <c>--compare-set Key=Value</c> (settings of that second API, repeatable) add a
/// second API measured in the same rounds (bare, compare, OFREP), each with its ratio to the bare endpoint.
/// </summary>
public sealed partial class OfrepLoadScenario : IScenario
{
    public string Name => "ofrep-load";

    private const string Body = """{"context":{"targetingKey":"user-123","groups":["free"]}}""";

    public async Task<int> RunAsync(string[] args)
    {
        var rounds = Option(args, "--rounds", 3);
        var seconds = Option(args, "--seconds", 10);
        var connections = Option(args, "--connections", 64);
        var threads = Option(args, "--threads", 2);
        // an A/B in one session: a second API (another build, e.g. the base commit's FlagAnalyzer.Api.dll, and/or other
        // settings) measured in the same rounds, so both ratios see the same machine
        var compareDll = Text(args, "--compare");
        var compareSettings = args.Select((a, i) => (a, i)).Where(x => x.a == "--compare-set" && x.i + 1 < args.Length)
            .Select(x => args[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
        var compare = compareDll is not null || compareSettings.Count > 0;

        await using var api = await ApiProcess.StartAsync();
        await using var other = compare ? await ApiProcess.StartAsync(compareSettings, compareDll) : null;
        var targets = new List<(string Name, string Url, int Pid)>();
        byte[] bytes = [];
        foreach (var (name, process) in new[] { ("compare", other), ("ofrep", api) })
        {
            if (process is null) continue;
            bytes = await CreateFlagAsync(process);
            Console.WriteLine($"{name} answer ({bytes.Length} bytes): {System.Text.Encoding.UTF8.GetString(bytes)}");
            targets.Add((name, new Uri(process.BaseAddress, "/ofrep/v1/evaluate/flags/new-checkout").ToString(), process.ProcessId));
        }
        if (compare) Console.WriteLine($"compare: {compareDll ?? "this build"} {string.Join(' ', compareSettings.Select(kv => $"{kv.Key}={kv.Value}"))}");

        await using var bare = await StartBareAsync(bytes);
        targets.Insert(0, ("bare", $"{bare.Urls.First()}/ofrep/v1/evaluate/flags/new-checkout", Environment.ProcessId));
        var script = Path.Combine(Path.GetTempPath(), "ofrep-post.lua");
        await File.WriteAllTextAsync(script, $"wrk.method = \"POST\"\nwrk.body = '{Body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");

        Console.WriteLine($"load average before: {LoadAverage()}");
        foreach (var t in targets) await RunWrkAsync(t.Url, script, 3, connections, threads, t.Pid); // warm each up
        var results = targets.Select(_ => new List<(double Rps, double P99, double CpuUs)>()).ToList();
        for (var i = 0; i < rounds; i++)
        {
            for (var t = 0; t < targets.Count; t++) results[t].Add(await RunWrkAsync(targets[t].Url, script, seconds, connections, threads, targets[t].Pid));
            Console.WriteLine($"round {i + 1}: " + string.Join(" | ", targets.Select((t, j) => $"{t.Name} {results[j][^1].Rps:F0} req/s p99 {results[j][^1].P99:F2} ms"))
                + $" | load {LoadAverage()}");
            Console.WriteLine($"  server CPU per request: " + string.Join(" | ", targets.Select((t, j) => $"{t.Name} {results[j][^1].CpuUs:F1} us")));
        }
        Console.WriteLine($"load average after: {LoadAverage()}");

        static double Median(IEnumerable<double> xs) { var s = xs.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
        string Summary(string name, List<(double Rps, double P99, double CpuUs)> r) =>
            $"{name}: median {Median(r.Select(x => x.Rps)):F0} req/s (range {r.Min(x => x.Rps):F0}-{r.Max(x => x.Rps):F0}), p99 median {Median(r.Select(x => x.P99)):F2} ms (range {r.Min(x => x.P99):F2}-{r.Max(x => x.P99):F2}), "
            + $"server CPU median {Median(r.Select(x => x.CpuUs)):F1} us/request (range {r.Min(x => x.CpuUs):F1}-{r.Max(x => x.CpuUs):F1})";
        // round lines keep the short names benchmarks/before-after.sh reads ("round N: bare … | ofrep …")
        string Label(string name) => name switch { "bare" => "bare Kestrel", "ofrep" => "OFREP", _ => name };
        for (var t = 0; t < targets.Count; t++) Console.WriteLine(Summary(Label(targets[t].Name), results[t]));
        for (var t = 1; t < targets.Count; t++)
        {
            var ratios = results[0].Zip(results[t], (b, o) => o.Rps / b.Rps).ToList();
            Console.WriteLine($"ratio {Label(targets[t].Name)}/bare (medians): {Median(results[t].Select(x => x.Rps)) / Median(results[0].Select(x => x.Rps)):F2}; "
                + $"per round {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}; median of per-round ratios {Median(ratios):F2}");
            // CPU per request is far less sensitive to other load on the machine than req/s: bare ÷ this is the throughput
            // ratio the two would have if the server's CPU were the only cost (wrk's own share excluded)
            var cpu = results[0].Zip(results[t], (b, o) => b.CpuUs / o.CpuUs).ToList();
            Console.WriteLine($"CPU ratio bare/{Label(targets[t].Name)} per request: median {Median(cpu):F2}; per round {string.Join(", ", cpu.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}");
        }
        return 0;
    }

    private static async Task<byte[]> CreateFlagAsync(ApiProcess process)
    {
        using var http = process.CreateClient();
        var created = await http.PostAsJsonAsync("/api/flags", new
        {
            name = "new-checkout",
            enabled = true,
            rolloutPercentage = 100,
            targeting = System.Text.Json.JsonDocument.Parse("""{"if": [{"in": ["beta", {"var": "groups"}]}, "on", {"fractional": [["on", 20], ["off", 80]]}]}""").RootElement,
        });
        created.EnsureSuccessStatusCode();
        var sample = await http.PostAsync("/ofrep/v1/evaluate/flags/new-checkout", new StringContent(Body, System.Text.Encoding.UTF8, "application/json"));
        sample.EnsureSuccessStatusCode();
        return await sample.Content.ReadAsByteArrayAsync();
    }

    private static string? Text(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task<WebApplication> StartBareAsync(byte[] answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{ApiProcess.FreePort()}");
        var app = builder.Build();
        app.MapPost("/ofrep/v1/evaluate/flags/{key}", async (HttpContext http) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(answer);
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>wrk's req/s and p99, and the CPU time the serving process (<paramref name="pid"/>) spent per request meanwhile.</summary>
    private static async Task<(double Rps, double P99, double CpuUs)> RunWrkAsync(string url, string script, int seconds, int connections, int threads, int pid)
    {
        using var server = Process.GetProcessById(pid);
        var cpuBefore = server.TotalProcessorTime;
        var psi = new ProcessStartInfo("wrk", ["-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s", "--latency", "-H", $"Authorization: Bearer {ApiProcess.AdminKey}", "-s", script, url]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        server.Refresh();
        var cpu = server.TotalProcessorTime - cpuBefore;
        var requests = double.Parse(Requests().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var p99 = P99().Match(output);
        var value = double.Parse(p99.Groups[1].Value, CultureInfo.InvariantCulture);
        var ms = p99.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        if (NonOk().Match(output) is { Success: true } bad) throw new InvalidOperationException($"wrk saw failures: {bad.Value}\n{output}");
        return (rps, ms, cpu.TotalMicroseconds / Math.Max(1, requests));
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();

    [GeneratedRegex(@"99%\s+([\d.]+)(us|ms|s)")]
    private static partial Regex P99();

    [GeneratedRegex(@"Non-2xx or 3xx responses: \d+")]
    private static partial Regex NonOk();

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => $"{a} {b}");
}
