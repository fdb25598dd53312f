using System.Diagnostics;

namespace FlagAnalyzer.Benchmarks.Access;

/// <summary>
/// <c>auth-overhead [pairs]</c>: the same GET as <see cref="AuthenticationBenchmarks"/>, but interleaved — no key,
/// Bearer key, X-API-Key, one after the other, <c>pairs</c> times (default 20,000) — and timed per request, so a
/// load that drifts during the run (other builds on a shared machine) hits all three alike. Prints each p50 and the
/// p50 of the per-round differences (keyed − open): what authentication adds to one request.
/// </summary>
public sealed class AuthOverheadScenario : IScenario
{
    public string Name => "auth-overhead";

    public async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0]) : 20_000;
        using var apps = await AuthBenchApps.StartAsync();
        Console.WriteLine($"load average before: {Load()}");
        for (var i = 0; i < 2_000; i++) // warm-up: JIT, caches, connection pools
        {
            await AuthBenchApps.SendAsync(apps.Open);
            await AuthBenchApps.SendAsync(apps.Bearer);
            await AuthBenchApps.SendAsync(apps.XApiKey);
        }
        var open = new double[rounds];
        var bearer = new double[rounds];
        var header = new double[rounds];
        for (var i = 0; i < rounds; i++)
        {
            // rotate the order, so no variant always runs first after a pause
            switch (i % 3)
            {
                case 0: open[i] = await Time(apps.Open); bearer[i] = await Time(apps.Bearer); header[i] = await Time(apps.XApiKey); break;
                case 1: bearer[i] = await Time(apps.Bearer); header[i] = await Time(apps.XApiKey); open[i] = await Time(apps.Open); break;
                default: header[i] = await Time(apps.XApiKey); open[i] = await Time(apps.Open); bearer[i] = await Time(apps.Bearer); break;
            }
        }
        Console.WriteLine($"load average after: {Load()}; {rounds} rounds; µs per request");
        Console.WriteLine($"  no authentication   p50 {P50(open):F1}  p90 {P(open, 90):F1}");
        Console.WriteLine($"  Bearer key          p50 {P50(bearer):F1}  p90 {P(bearer, 90):F1}");
        Console.WriteLine($"  X-API-Key           p50 {P50(header):F1}  p90 {P(header, 90):F1}");
        Console.WriteLine($"  added, Bearer:      p50 of per-round differences {P50(bearer.Zip(open, (a, b) => a - b).ToArray()):F1}; difference of p50s {P50(bearer) - P50(open):F1}");
        Console.WriteLine($"  added, X-API-Key:   p50 of per-round differences {P50(header.Zip(open, (a, b) => a - b).ToArray()):F1}; difference of p50s {P50(header) - P50(open):F1}");
        return 0;
    }

    private static async Task<double> Time(HttpClient client)
    {
        var start = Stopwatch.GetTimestamp();
        await AuthBenchApps.SendAsync(client);
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    private static double P50(double[] xs) => P(xs, 50);

    private static double P(double[] xs, double p)
    {
        var sorted = xs.Order().ToArray();
        return sorted[(int)Math.Clamp(Math.Round(p / 100 * (sorted.Length - 1)), 0, sorted.Length - 1)];
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
