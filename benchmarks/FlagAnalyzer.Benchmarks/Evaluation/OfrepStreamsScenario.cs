using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Benchmarks.Common;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Evaluation;

/// <summary>
/// <c>ofrep-streams</c>: OFREP event streams against the API as its own process on loopback (its memory is its own; the
/// streams are read by this process). (1) <c>--streams</c> connected streams of one sdk key; for each of <c>--changes</c>
/// PATCHes of a flag in that environment, the time from the PATCH's response to the <c>refetchEvaluation</c> at every
/// stream. (2) <c>--idle</c> idle streams held, and the API's resident memory before and after opening them.
/// Options: <c>--streams 1000 --changes 30 --idle 10000 --keep-alive 0</c>; <c>--keep-alive 1</c> opens every stream on a
/// connection that first answered a bulk evaluation, as a browser's EventSource does (0: each on a fresh connection, as
/// server SDKs do). Bounded: every wait has a time limit; loopback only.
/// </summary>
public sealed class OfrepStreamsScenario : IScenario
{
    public string Name => "ofrep-streams";

    public async Task<int> RunAsync(string[] args)
    {
        var streams = Option(args, "--streams", 1000);
        var changes = Option(args, "--changes", 30);
        var idle = Option(args, "--idle", 10000);
        var keepAlive = Option(args, "--keep-alive", 0) == 1;

        await using var api = await ApiProcess.StartAsync();
        using var admin = api.CreateClient();
        var flag = await (await admin.PostAsJsonAsync("/api/flags", new { name = "streamed", enabled = true, rolloutPercentage = 100, targetEnvironment = "production" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;
        var key = await (await admin.PostAsJsonAsync("/api/keys", new { name = "bench sdk", role = "sdk", environment = "production" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        using var sdk = new HttpClient { BaseAddress = api.BaseAddress };
        var secret = key.GetProperty("secret").GetString()!;
        sdk.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        var bulk = await (await sdk.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { } })).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var url = bulk.GetProperty("eventStreams")[0].GetProperty("url").GetString()!;
        Console.WriteLine($"API pid {api.ProcessId} at {api.BaseAddress}; {Environment.ProcessorCount} cores; streams read in this process; "
            + (keepAlive ? "each stream on its bulk request's keep-alive connection" : "each stream on a fresh connection") + $"; load average {LoadAverage()}");
        var open = new Opener(keepAlive, api.BaseAddress, secret);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var stop = new CancellationTokenSource();

        // (1) a change to N connected streams
        var rounds = new Rounds();
        var readers = await open.ManyAsync(client, url, streams, rounds, stop.Token);
        var afterResponse = new List<double>(streams * changes);
        var missing = 0;
        var enabled = true;
        for (var i = -5; i < changes; i++) // 5 to warm up, not counted
        {
            var round = rounds.Begin(streams);
            enabled = !enabled; // every PATCH changes the flag, so every one is an event
            var r = await admin.PatchAsJsonAsync($"/api/flags/{flagId}", new { enabled });
            r.EnsureSuccessStatusCode();
            var responded = Stopwatch.GetTimestamp();
            var arrivals = await round.WaitAsync(TimeSpan.FromSeconds(10));
            if (i < 0) continue;
            missing += streams - arrivals.Count;
            afterResponse.AddRange(arrivals.Select(t => Math.Max(0, Stopwatch.GetElapsedTime(responded, t).TotalMilliseconds)));
        }
        Console.WriteLine($"change -> {streams} streams x {changes} changes = {afterResponse.Count} refetchEvaluation events, {missing} missing");
        Console.WriteLine($"  PATCH response -> each stream: p50 {P(afterResponse, 50):F1} ms  p99 {P(afterResponse, 99):F1} ms  max {afterResponse.DefaultIfEmpty().Max():F1} ms");
        stop.Cancel();
        await Task.WhenAll(readers.Select(t => t.ContinueWith(_ => { })));

        // (2) idle streams and their memory
        using var stopIdle = new CancellationTokenSource();
        GC.Collect();
        var rssBefore = api.ResidentBytes();
        var heapBefore = GcHeap.AfterFullGc(api.ProcessId, TimeSpan.FromSeconds(30));
        var idleRounds = new Rounds();
        var held = await open.ManyAsync(client, url, idle, idleRounds, stopIdle.Token);
        var opened = held.Count(t => !t.IsCompleted);
        var rssAfter = api.ResidentBytes();
        var heapAfter = GcHeap.AfterFullGc(api.ProcessId, TimeSpan.FromSeconds(30));
        if (Option(args, "--hold-seconds", 0) is > 0 and var hold)
        {
            // time to inspect the API holding the idle streams (dotnet-gcdump collect -p <pid>); bounded
            Console.WriteLine($"  holding {opened} idle streams for {hold} s: API pid {api.ProcessId}");
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(hold, 300)));
        }
        var rssAfterGc = api.ResidentBytes();
        var one = idleRounds.Begin(idle);
        await admin.PatchAsJsonAsync($"/api/flags/{flagId}", new { enabled = !enabled });
        var toAll = Stopwatch.GetTimestamp();
        var reached = (await one.WaitAsync(TimeSpan.FromSeconds(30))).Count;
        Console.WriteLine($"idle: {opened}/{idle} streams open; API RSS {rssBefore / 1048576.0:F1} MiB -> {rssAfter / 1048576.0:F1} MiB = +{(rssAfter - rssBefore) / 1048576.0:F1} MiB ({(rssAfter - rssBefore) / 1024.0 / Math.Max(1, opened):F1} KiB per stream)");
        if (heapBefore is { } hb && heapAfter is { } ha)
            Console.WriteLine($"  API GC heap after a full GC {hb / 1048576.0:F1} MiB -> {ha / 1048576.0:F1} MiB = +{(ha - hb) / 1048576.0:F1} MiB ({(ha - hb) / 1024.0 / Math.Max(1, opened):F2} KiB per stream); RSS right after that GC {rssAfterGc / 1048576.0:F1} MiB = +{(rssAfterGc - rssBefore) / 1048576.0:F1} MiB");
        Console.WriteLine($"  one change reached {reached}/{idle} of them ({Stopwatch.GetElapsedTime(toAll).TotalMilliseconds:F0} ms until the last or the limit)");
        stopIdle.Cancel();
        await Task.WhenAll(held.Select(t => t.ContinueWith(_ => { })));
        Console.WriteLine($"load average at the end {LoadAverage()} (the machine is shared: read the numbers with it)");
        return missing == 0 && reached == idle ? 0 : 1;
    }

    /// <summary>Opens streams, each on a fresh connection or on a connection its own bulk request used first.</summary>
    private sealed class Opener(bool keepAlive, Uri api, string secret)
    {
        /// <summary>Opens <paramref name="count"/> streams (32 at a time) and returns their readers once each has its opening line.</summary>
        public async Task<List<Task>> ManyAsync(HttpClient shared, string url, int count, Rounds rounds, CancellationToken ct)
        {
            var readers = new ConcurrentBag<Task>();
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (_, _) =>
            {
                var client = shared;
                if (keepAlive)
                {
                    // one connection per client: the bulk request's, which the stream then reuses
                    client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
                        { BaseAddress = api, Timeout = Timeout.InfiniteTimeSpan };
                    using var bulk = new HttpRequestMessage(HttpMethod.Post, "/ofrep/v1/evaluate/flags") { Content = JsonContent.Create(new { context = new { } }) };
                    bulk.Headers.Authorization = new("Bearer", secret);
                    await (await client.SendAsync(bulk, ct)).EnsureSuccessStatusCode().Content.ReadAsByteArrayAsync(ct);
                }
                var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
                response.EnsureSuccessStatusCode();
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                await reader.ReadLineAsync(ct); // ": open"
                var reading = ReadAsync(response, reader, rounds, ct);
                readers.Add(client == shared ? reading : reading.ContinueWith(_ => client.Dispose(), TaskScheduler.Default));
            });
            return [.. readers];
        }
    }

    private static async Task ReadAsync(HttpResponseMessage response, StreamReader reader, Rounds rounds, CancellationToken ct)
    {
        using (response)
        using (reader)
        {
            string? line;
            while ((line = await reader.ReadLineAsync(ct)) is not null)
                if (line.StartsWith("data: ", StringComparison.Ordinal)) rounds.Arrived(Stopwatch.GetTimestamp());
        }
    }

    private sealed class Rounds
    {
        private Round? _current;
        public Round Begin(int expected) => _current = new Round(expected);
        public void Arrived(long at) => _current?.Add(at);
    }

    private sealed class Round(int expected)
    {
        private readonly ConcurrentQueue<long> _arrivals = new();
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(long at)
        {
            _arrivals.Enqueue(at);
            if (_arrivals.Count >= expected) _done.TrySetResult();
        }

        public async Task<List<long>> WaitAsync(TimeSpan limit)
        {
            await Task.WhenAny(_done.Task, Task.Delay(limit));
            return [.. _arrivals];
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double P(List<double> xs, int p)
    {
        if (xs.Count == 0) return double.NaN;
        var sorted = xs.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
    }
}
