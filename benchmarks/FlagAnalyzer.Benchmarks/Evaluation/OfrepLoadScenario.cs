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
/// Options: <c>--rounds 3 --seconds 10 --connections 64 --threads 2</c>.
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

        await using var api = await ApiProcess.StartAsync();
        using var http = api.CreateClient();
        var created = await http.PostAsJsonAsync("/api/flags", new
        {
            name = "new-checkout",
            enabled = true,
            rolloutPercentage = 100,
            targeting = System.Text.Json.JsonDocument.Parse("""{"if": [{"in": ["beta", {"var": "groups"}]}, "on", {"fractional": [["on", 20], ["off", 80]]}]}""").RootElement,
        });
        created.EnsureSuccessStatusCode();
        var sample = await http.PostAsync("/ofrep/v1/evaluate/flags/new-checkout", new StringContent(Body, System.Text.Encoding.UTF8, "application/json"));
        var bytes = await sample.Content.ReadAsByteArrayAsync();
        Console.WriteLine($"OFREP answer ({bytes.Length} bytes): {System.Text.Encoding.UTF8.GetString(bytes)}");

        await using var bare = await StartBareAsync(bytes);
        var bareUrl = $"{bare.Urls.First()}/ofrep/v1/evaluate/flags/new-checkout";
        var ofrepUrl = new Uri(api.BaseAddress, "/ofrep/v1/evaluate/flags/new-checkout").ToString();
        var script = Path.Combine(Path.GetTempPath(), "ofrep-post.lua");
        await File.WriteAllTextAsync(script, $"wrk.method = \"POST\"\nwrk.body = '{Body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");

        Console.WriteLine($"load average before: {LoadAverage()}");
        await RunWrkAsync(bareUrl, script, 3, connections, threads); // warm both up
        await RunWrkAsync(ofrepUrl, script, 3, connections, threads);
        var baseline = new List<(double Rps, double P99)>();
        var ofrep = new List<(double Rps, double P99)>();
        for (var i = 0; i < rounds; i++)
        {
            baseline.Add(await RunWrkAsync(bareUrl, script, seconds, connections, threads));
            ofrep.Add(await RunWrkAsync(ofrepUrl, script, seconds, connections, threads));
            Console.WriteLine($"round {i + 1}: bare {baseline[^1].Rps:F0} req/s p99 {baseline[^1].P99:F2} ms | ofrep {ofrep[^1].Rps:F0} req/s p99 {ofrep[^1].P99:F2} ms | load {LoadAverage()}");
        }
        Console.WriteLine($"load average after: {LoadAverage()}");

        static double Median(IEnumerable<double> xs) { var s = xs.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
        string Summary(string name, List<(double Rps, double P99)> r) =>
            $"{name}: median {Median(r.Select(x => x.Rps)):F0} req/s (range {r.Min(x => x.Rps):F0}-{r.Max(x => x.Rps):F0}), p99 median {Median(r.Select(x => x.P99)):F2} ms (range {r.Min(x => x.P99):F2}-{r.Max(x => x.P99):F2})";
        Console.WriteLine(Summary("bare Kestrel", baseline));
        Console.WriteLine(Summary("OFREP", ofrep));
        var ratios = baseline.Zip(ofrep, (b, o) => o.Rps / b.Rps).ToList();
        Console.WriteLine($"ratio OFREP/bare (medians): {Median(ofrep.Select(x => x.Rps)) / Median(baseline.Select(x => x.Rps)):F2}; per round {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}");
        return 0;
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

    private static async Task<(double Rps, double P99)> RunWrkAsync(string url, string script, int seconds, int connections, int threads)
    {
        var psi = new ProcessStartInfo("wrk", ["-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s", "--latency", "-H", $"Authorization: Bearer {ApiProcess.AdminKey}", "-s", script, url]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var p99 = P99().Match(output);
        var value = double.Parse(p99.Groups[1].Value, CultureInfo.InvariantCulture);
        var ms = p99.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        if (NonOk().Match(output) is { Success: true } bad) throw new InvalidOperationException($"wrk saw failures: {bad.Value}\n{output}");
        return (rps, ms);
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"99%\s+([\d.]+)(us|ms|s)")]
    private static partial Regex P99();

    [GeneratedRegex(@"Non-2xx or 3xx responses: \d+")]
    private static partial Regex NonOk();

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => $"{a} {b}");
}
