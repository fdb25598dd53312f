using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Benchmarks.Common;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using FlagAnalyzer.Api.Common;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Live;

/// <summary>
/// <c>live-fanout</c>: the API runs as its own process on a loopback port (so its memory is its own); this
/// process holds the SignalR clients. (1) N clients subscribed to <c>all</c>; for each <c>POST /api/flags/change</c>,
/// the time from its response to that change's <c>flag.changed</c> at every client. (2) M idle connections held,
/// the API's resident memory per connection, and one event delivered to all of them.
/// Options: <c>--clients 200 --changes 100 --idle 2000</c>.
/// </summary>
public sealed class LiveFanoutScenario : IScenario
{
    public string Name => "live-fanout";

    public async Task<int> RunAsync(string[] args)
    {
        var clients = Option(args, "--clients", 200);
        var changes = Option(args, "--changes", 100);
        var idle = Option(args, "--idle", 2000);

        await using var api = await ApiProcess.StartAsync();
        using var http = api.CreateClient();
        var flag = await (await http.PostAsJsonAsync("/api/flags", new { name = "fanout", targetEnvironment = "staging" })).Content.ReadFromJsonAsync<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;
        Console.WriteLine($"API pid {api.ProcessId} at {api.BaseAddress}; {Environment.ProcessorCount} cores; clients in this process; load average {LoadAverage()}");

        // (1) fan-out latency; the 1-client run is the baseline of the same run (the HTTP and pump path alone)
        await MeasureFanoutAsync(api, http, flagId, 1, changes);
        var missing = await MeasureFanoutAsync(api, http, flagId, clients, changes);

        // (2) idle connections and their memory
        var rssBefore = api.ResidentBytes();
        var idleArrivals = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = await ConnectAsync(api.BaseAddress, idle, c => c.On<JsonElement>("event", _ =>
        {
            if (Interlocked.Increment(ref idleArrivals) == idle) all.TrySetResult();
        }));
        await Parallel.ForEachAsync(held, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (c, ct) => await c.InvokeAsync("Subscribe", LiveTopics.All, ct));
        var rssAfter = api.ResidentBytes();
        var sent = Stopwatch.GetTimestamp();
        await http.PostAsJsonAsync("/api/flags/change", new { flagId, changeType = "enabled", changedBy = "bench", environment = "staging" });
        var delivered = await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(30))) == all.Task;
        var toAll = Stopwatch.GetElapsedTime(sent);
        var connected = held.Count(c => c.State == HubConnectionState.Connected);
        Console.WriteLine($"idle: {connected}/{idle} connections held; API RSS {rssBefore / 1048576.0:F1} MiB -> {rssAfter / 1048576.0:F1} MiB = {(rssAfter - rssBefore) / 1024.0 / idle:F1} KiB per connection");
        Console.WriteLine($"  one event to all {idle}: {(delivered ? $"{toAll.TotalMilliseconds:F0} ms" : $"only {idleArrivals} within 30 s")}");
        await Parallel.ForEachAsync(held, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (c, _) => await c.DisposeAsync());
        Console.WriteLine($"load average at the end {LoadAverage()} (the machine is shared: read the numbers with it)");
        return missing == 0 && delivered ? 0 : 1;
    }

    private static async Task<int> MeasureFanoutAsync(ApiProcess api, HttpClient http, string flagId, int clients, int changes)
    {
        var pending = new PendingChange();
        var connections = await ConnectAsync(api.BaseAddress, clients, c => c.On<JsonElement>("event", e => pending.Arrived(e)));
        foreach (var c in connections) await c.InvokeAsync("Subscribe", LiveTopics.All);
        var afterResponse = new List<double>(clients * changes);
        var afterRequest = new List<double>(clients * changes);
        var early = 0;
        var missing = 0;
        TimeSpan apiCpu = default, clientCpu = default;
        for (var i = -10; i < changes; i++) // the first 10 warm up JIT and connections, not counted
        {
            if (i == 0)
            {
                apiCpu = CpuTime(api.ProcessId);
                clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
            }
            var started = Stopwatch.GetTimestamp();
            var round = pending.Begin(clients);
            var response = await http.PostAsJsonAsync("/api/flags/change", new
            {
                flagId, changeType = "rollout_changed", newValue = new { rolloutPercentage = 5 + (i + 10) % 90 }, changedBy = "bench", environment = "staging",
            });
            var body = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
            var responded = Stopwatch.GetTimestamp();
            round.Expect(body.GetProperty("change").GetProperty("id").GetString()!);
            var arrivals = await round.WaitAsync(TimeSpan.FromSeconds(10));
            if (i < 0) continue;
            missing += clients - arrivals.Count;
            foreach (var t in arrivals)
            {
                if (t < responded) early++;
                afterResponse.Add(Math.Max(0, Stopwatch.GetElapsedTime(responded, t).TotalMilliseconds));
                afterRequest.Add(Stopwatch.GetElapsedTime(started, t).TotalMilliseconds);
            }
        }
        apiCpu = CpuTime(api.ProcessId) - apiCpu;
        clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
        foreach (var c in connections) await c.DisposeAsync();
        Console.WriteLine($"fan-out: {clients} clients x {changes} changes = {afterResponse.Count} deliveries, {missing} missing, {early} before the HTTP response");
        Console.WriteLine($"  response -> every client: p50 {P(afterResponse, 50):F2} ms  p99 {P(afterResponse, 99):F2} ms  max {afterResponse.DefaultIfEmpty().Max():F2} ms");
        Console.WriteLine($"  request  -> every client: p50 {P(afterRequest, 50):F2} ms  p99 {P(afterRequest, 99):F2} ms");
        Console.WriteLine($"  CPU per change: API {apiCpu.TotalMilliseconds / changes:F2} ms, the {clients} clients {clientCpu.TotalMilliseconds / changes:F2} ms");
        return missing;
    }

    private static async Task<List<HubConnection>> ConnectAsync(Uri baseUri, int count, Action<HubConnection> onEvent)
    {
        var list = new HubConnection[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var c = new HubConnectionBuilder().WithUrl(new Uri(baseUri, LiveHub.Path), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.AccessTokenProvider = () => Task.FromResult<string?>(ApiProcess.AdminKey);
            }).Build();
            onEvent(c);
            await c.StartAsync(ct);
            list[i] = c;
        });
        return [.. list];
    }

    /// <summary>User + system CPU of a process, from /proc (clock ticks of 10 ms).</summary>
    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromMilliseconds((long.Parse(fields[11]) + long.Parse(fields[12])) * 10);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double P(List<double> xs, int p)
    {
        if (xs.Count == 0) return double.NaN;
        var sorted = xs.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
    }


    /// <summary>Arrival times of one change's <c>flag.changed</c>, one per client; events of other changes are ignored.</summary>
    private sealed class PendingChange
    {
        private Round? _round;

        public Round Begin(int clients) => _round = new Round(clients);

        public void Arrived(JsonElement e)
        {
            var at = Stopwatch.GetTimestamp();
            if (e.GetProperty("type").GetString() != LiveEventTypes.FlagChanged) return;
            _round?.Add(e.GetProperty("payload").GetProperty("id").GetString()!, at);
        }
    }

    private sealed class Round(int clients)
    {
        private readonly List<(string Id, long At)> _arrivals = new(clients);
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _expected;

        public void Add(string id, long at)
        {
            lock (_arrivals)
            {
                _arrivals.Add((id, at));
                Check();
            }
        }

        /// <summary>Events can arrive before the response names the change, so arrivals are matched afterwards.</summary>
        public void Expect(string id)
        {
            lock (_arrivals)
            {
                _expected = id;
                Check();
            }
        }

        private void Check()
        {
            if (_expected is { } id && _arrivals.Count(a => a.Id == id) == clients) _done.TrySetResult();
        }

        public async Task<List<long>> WaitAsync(TimeSpan timeout)
        {
            await Task.WhenAny(_done.Task, Task.Delay(timeout));
            lock (_arrivals) return _arrivals.Where(a => a.Id == _expected).Select(a => a.At).ToList();
        }
    }
}
