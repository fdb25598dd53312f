using FlagAnalyzer.Benchmarks.Common;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Cache;

/// <summary>
/// <c>cache-reads</c>: GET /api/flags/{id} over loopback, one request at a time, against the real API
/// process in three set-ups on the same SQLite file and the same flags, in one run:
/// Redis with each replica's local copy (the product), Redis round trip on every read
/// (<c>FlagCache:LocalCopy=false</c>), and SQLite on every read (<c>FlagCache:Enabled=false</c>).
/// Then, unless <c>--no-apphost</c>: AppHost start to <c>api</c> healthy (<c>dotnet run --no-build</c>).
/// Options: <c>--requests N</c> (default 10000), <c>--apphost-runs N</c> (default 3).
/// </summary>
public sealed class CacheReadsScenario : IScenario
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    private const int Flags = 100;
    private const int Warmup = 1000;

    public string Name => "cache-reads";

    public async Task<int> RunAsync(string[] args)
    {
        var requests = Option(args, "--requests", 10_000);
        var appHostRuns = Option(args, "--apphost-runs", 3);
        var root = RepositoryRoot();
        var db = Path.Combine(Path.GetTempPath(), $"flaganalyzer-cache-reads-{Guid.NewGuid():N}.db");
        var redisPort = ApiProcess.FreePort();

        using (await ChildProcess.StartAsync(new ProcessStartInfo("redis-server",
                   ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
                   "Ready to accept connections", StartTimeout))
        {
            var redis = $"127.0.0.1:{redisPort}";
            List<string> ids;
            using (var seeding = await StartApiAsync(db, new() { ["ConnectionStrings__cache"] = redis }))
                ids = await SeedAsync(seeding.Client);

            Console.WriteLine($"cache-reads: {requests} sequential GET /api/flags/{{id}} over loopback, {Flags} flags, after {Warmup} warm-up requests");
            Console.WriteLine($"{"set-up",-48} {"p50 ms",8} {"p99 ms",8} {"mean ms",8} {"req/s",8}");
            (string Name, Dictionary<string, string> Env)[] setups =
            [
                ("Redis + local copy (default)", new() { ["ConnectionStrings__cache"] = redis }),
                ("Redis round trip (FlagCache:LocalCopy=false)", new() { ["ConnectionStrings__cache"] = redis, ["FlagCache__LocalCopy"] = "false" }),
                ("SQLite only (FlagCache:Enabled=false)", new() { ["FlagCache__Enabled"] = "false" }),
            ];
            foreach (var (name, env) in setups)
            {
                using var api = await StartApiAsync(db, env);
                var (p50, p99, mean, rps) = await MeasureAsync(api.Client, ids, requests);
                Console.WriteLine($"{name,-48} {p50,8:F3} {p99,8:F3} {mean,8:F3} {rps,8:F0}");
            }
        }
        foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);

        if (appHostRuns > 0 && !args.Contains("--no-apphost")) await MeasureAppHostStartAsync(root, appHostRuns);
        return 0;
    }

    private sealed record RunningApi(ChildProcess Process, HttpClient Client) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Process.Dispose();
        }
    }

    private static async Task<RunningApi> StartApiAsync(string db, Dictionary<string, string> env)
    {
        var port = ApiProcess.FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "FlagAnalyzer.Api.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ConnectionStrings__flagdb"] = $"Data Source={db}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (k, v) in ApiProcess.AccessSettings) start.Environment[k] = v;
        foreach (var (k, v) in env) start.Environment[k] = v;
        var process = await ChildProcess.StartAsync(start, "Application started", StartTimeout);
        return new RunningApi(process, ApiProcess.Authorize(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") }));
    }

    private static async Task<List<string>> SeedAsync(HttpClient api)
    {
        var ids = new List<string>();
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < Flags; i++)
        {
            var response = await api.PostAsJsonAsync("/api/flags", new { name = $"bench-{run}-{i}", enabled = i % 2 == 0, rolloutPercentage = i, tags = new[] { "bench" } });
            response.EnsureSuccessStatusCode();
            ids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        }
        return ids;
    }

    private static async Task<(double P50, double P99, double Mean, double Rps)> MeasureAsync(HttpClient api, List<string> ids, int requests)
    {
        var random = new Random(42);
        for (var i = 0; i < Warmup; i++) await GetAsync(api, ids[random.Next(ids.Count)]);
        var samples = new double[requests];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < requests; i++)
        {
            var id = ids[random.Next(ids.Count)];
            var t = Stopwatch.GetTimestamp();
            await GetAsync(api, id);
            samples[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        total.Stop();
        Array.Sort(samples);
        return (Percentile(samples, 0.50), Percentile(samples, 0.99), samples.Average(), requests / total.Elapsed.TotalSeconds);
    }

    private static async Task GetAsync(HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/api/flags/{id}");
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>
    /// <c>dotnet run --project FlagAnalyzer.AppHost --no-build</c> until it logs "api is healthy at" (the
    /// AppHost's ResourceReadyEvent for api, i.e. its /health check passed). One untimed run first builds.
    /// </summary>
    private static async Task MeasureAppHostStartAsync(string root, int runs)
    {
        Console.WriteLine();
        Console.WriteLine($"apphost-start: dotnet run --project FlagAnalyzer.AppHost --no-build (web-mode=none), start to 'api is healthy', {runs} runs after one build run");
        var times = new List<double>();
        for (var run = 0; run <= runs; run++)
        {
            var start = new ProcessStartInfo("dotnet", run == 0
                ? ["run", "--project", "FlagAnalyzer.AppHost", "--no-launch-profile", "--", "--Parameters:web-mode=none"]
                : ["run", "--project", "FlagAnalyzer.AppHost", "--no-build", "--no-launch-profile", "--", "--Parameters:web-mode=none"])
            {
                WorkingDirectory = root,
            };
            // free ports for the dashboard and every resource, so this runs next to other stacks on the machine
            start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ApiProcess.FreePort()}";
            start.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{ApiProcess.FreePort()}";
            start.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{ApiProcess.FreePort()}";
            start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
            start.Environment["DcpPublisher__RandomizePorts"] = "true";
            var clock = Stopwatch.StartNew();
            using var appHost = await ChildProcess.StartAsync(start, "api is healthy at", StartTimeout);
            if (run > 0) times.Add(clock.Elapsed.TotalSeconds);
            Console.WriteLine($"  run {run}{(run == 0 ? " (build, untimed)" : "")}: {clock.Elapsed.TotalSeconds:F1} s");
        }
        times.Sort();
        Console.WriteLine($"apphost-start: median {times[times.Count / 2]:F1} s, min {times[0]:F1} s, max {times[^1]:F1} s");
    }


    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FlagAnalyzer.sln"))) return dir.FullName;
        throw new InvalidOperationException("FlagAnalyzer.sln not found above " + AppContext.BaseDirectory);
    }
}
