using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Benchmarks.Cache;
using FlagAnalyzer.Benchmarks.Common;

namespace FlagAnalyzer.Benchmarks.Reliability;

/// <summary>
/// <c>redis-stall</c>: the real API process with <c>ConnectionStrings:cache</c> on a loopback redis-server, 100 flags,
/// and N closed-loop workers (default 16) sending 90 % <c>GET /api/flags/{id}</c> and 10 % <c>PATCH</c> (a rollout
/// move). Three phases in one run: before (Redis answering: the baseline), stall (redis-server SIGSTOPped:
/// connections open, nothing answers; longer than the Redis client's own 5 s timeout by default), after (SIGCONT). Per phase: latency of reads and
/// writes, <c>/health</c>'s cache status and latency (polled every 100 ms), and stale reads — a GET sent after a
/// PATCH of that flag had returned version v, answered with a version below v.
/// Options: <c>--workers 4 --phase-seconds 5 --stall-seconds 8</c>.
/// </summary>
public sealed class RedisStallScenario : IScenario
{
    private const int Flags = 100;
    private static readonly string[] Phases = ["before", "stall", "after"];

    public string Name => "redis-stall";

    private sealed record Op(int Phase, bool Write, double Ms, bool Ok, bool Stale);

    public async Task<int> RunAsync(string[] args)
    {
        var workers = Measure.Option(args, "--workers", 4);
        var phase = TimeSpan.FromSeconds(Measure.Option(args, "--phase-seconds", 5));
        var stall = TimeSpan.FromSeconds(Measure.Option(args, "--stall-seconds", 8));
        var redisPort = ApiProcess.FreePort();
        using var redis = await ChildProcess.StartAsync(new ProcessStartInfo("redis-server",
            ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
            "Ready to accept connections", TimeSpan.FromSeconds(30));
        // closed-loop workers on one key, one request in ten a PATCH, can pass 500 writes/s: the write limit is lifted so a
        // stall shows as latency and errors of the cache path, not as 429s
        await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted(new Dictionary<string, string> { ["ConnectionStrings__cache"] = $"127.0.0.1:{redisPort}" }));
        using var http = ApiProcess.Authorize(new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers + 1 })
        {
            BaseAddress = api.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        });
        var ids = await SeedAsync(http);
        // committed version per flag, as the last PATCH response said
        var committed = new ConcurrentDictionary<string, long>(ids.Select(id => KeyValuePair.Create(id, 1L)));
        Console.WriteLine($"redis-stall: API pid {api.ProcessId}, redis-server pid {redis.Id}, {workers} workers (90% GET, 10% PATCH), "
                          + $"phases of {phase.TotalSeconds:F0} s, stall {stall.TotalSeconds:F0} s; {Environment.ProcessorCount} cores shared; load average {Measure.LoadAverage()}");

        // warm-up: JIT, connections, local copies
        await RunLoadAsync(http, ids, committed, workers, TimeSpan.FromSeconds(2), () => -1, new ConcurrentBag<Op>());

        var ops = new ConcurrentBag<Op>();
        var health = new ConcurrentBag<(int Phase, double Ms, string Status)>();
        var current = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var healthLoop = PollHealthAsync(http, () => Volatile.Read(ref current), health, stop.Token);
        var load = RunLoadAsync(http, ids, committed, workers, 2 * phase + stall, () => Volatile.Read(ref current), ops);

        await Task.Delay(phase);
        Volatile.Write(ref current, 1);
        Signal(redis.Id, SigStop);
        try
        {
            await Task.Delay(stall);
        }
        finally
        {
            Signal(redis.Id, SigCont);
        }
        Volatile.Write(ref current, 2);
        await load;
        await stop.CancelAsync();
        await healthLoop;

        Console.WriteLine($"{"phase",-7} {"op",-6} {"count",7} {"p50 ms",9} {"p99 ms",9} {"max ms",9} {"errors",7} {"stale",6}");
        for (var p = 0; p < Phases.Length; p++)
        {
            foreach (var write in new[] { false, true })
            {
                var set = ops.Where(o => o.Phase == p && o.Write == write).ToList();
                var ms = set.Select(o => o.Ms).Order().ToList();
                Console.WriteLine($"{Phases[p],-7} {(write ? "write" : "read"),-6} {set.Count,7} {Measure.Percentile(ms, 0.5),9:F2} {Measure.Percentile(ms, 0.99),9:F2} "
                                  + $"{(ms.Count > 0 ? ms[^1] : double.NaN),9:F2} {set.Count(o => !o.Ok),7} {set.Count(o => o.Stale),6}");
            }
            var h = health.Where(x => x.Phase == p).ToList();
            var hms = h.Select(x => x.Ms).Order().ToList();
            Console.WriteLine($"{Phases[p],-7} {"health",-6} {h.Count,7} {Measure.Percentile(hms, 0.5),9:F2} {Measure.Percentile(hms, 0.99),9:F2} "
                              + $"{(hms.Count > 0 ? hms[^1] : double.NaN),9:F2}  cache: {string.Join(", ", h.GroupBy(x => x.Status).Select(g => $"{g.Key} ×{g.Count()}"))}");
        }
        Console.WriteLine($"load average at the end {Measure.LoadAverage()}");
        return 0;
    }

    private static async Task RunLoadAsync(HttpClient http, List<string> ids, ConcurrentDictionary<string, long> committed, int workers,
        TimeSpan duration, Func<int> phase, ConcurrentBag<Op> ops)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (Stopwatch.GetTimestamp() < end)
            {
                var id = ids[random.Next(ids.Count)];
                var write = random.Next(10) == 0;
                var p = phase();
                var known = committed[id];
                var t = Stopwatch.GetTimestamp();
                bool ok, stale = false;
                try
                {
                    using var response = write
                        ? await http.PatchAsync($"/api/flags/{id}", new StringContent($"{{\"rolloutPercentage\":{random.Next(101)}}}", Encoding.UTF8, "application/json"))
                        : await http.GetAsync($"/api/flags/{id}");
                    ok = response.IsSuccessStatusCode;
                    if (ok)
                    {
                        var version = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64();
                        if (write) committed.AddOrUpdate(id, version, (_, v) => Math.Max(v, version));
                        else stale = version < known;
                    }
                }
                catch (HttpRequestException)
                {
                    ok = false;
                }
                if (p >= 0) ops.Add(new Op(p, write, Stopwatch.GetElapsedTime(t).TotalMilliseconds, ok, stale));
            }
        })));
    }

    private static async Task PollHealthAsync(HttpClient http, Func<int> phase, ConcurrentBag<(int, double, string)> results, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var p = phase();
                var t = Stopwatch.GetTimestamp();
                var body = await http.GetFromJsonAsync<JsonElement>("/health", stop);
                var status = body.GetProperty("checks").GetProperty("cache").GetProperty("status").GetString() ?? "?";
                results.Add((p, Stopwatch.GetElapsedTime(t).TotalMilliseconds, status));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task<List<string>> SeedAsync(HttpClient http)
    {
        var ids = new List<string>();
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < Flags; i++)
        {
            using var response = await http.PostAsJsonAsync("/api/flags", new { name = $"stall-{run}-{i}", enabled = true });
            response.EnsureSuccessStatusCode();
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        }
        return ids;
    }

    private const int SigStop = 19;
    private const int SigCont = 18;

    private static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
