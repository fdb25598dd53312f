using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using FlagAnalyzer.Benchmarks.Common;
using static FlagAnalyzer.Benchmarks.Common.Measure;

namespace FlagAnalyzer.Benchmarks.Webhooks;

/// <summary>
/// <c>webhooks</c>: the API as its own process on loopback, N webhooks (each its own HttpListener receiver on 127.0.0.1)
/// subscribed to <c>flag.changed</c>, then C flag changes. Checks that every receiver got every change, in revision order,
/// exactly as often as the delivery log says (successful attempts), and reports change → delivery latency (the change's
/// own timestamp to its arrival; one machine, one clock). Options: <c>--webhooks 5 --changes 1000</c>.
/// </summary>
public sealed class WebhooksScenario : IScenario
{
    public string Name => "webhooks";

    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        public readonly ConcurrentQueue<(long Revision, double LatencyMs)> Got = new();
        public string Url { get; }

        public Receiver()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            Url = $"http://127.0.0.1:{port}/hook";
            _ = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext ctx;
                    try { ctx = await _listener.GetContextAsync(); } catch { return; }
                    var body = await JsonDocument.ParseAsync(ctx.Request.InputStream);
                    var now = DateTimeOffset.UtcNow;
                    var ts = body.RootElement.GetProperty("timestamp").GetDateTimeOffset();
                    Got.Enqueue((body.RootElement.GetProperty("revision").GetInt64(), (now - ts).TotalMilliseconds));
                    ctx.Response.StatusCode = 200;
                    ctx.Response.Close();
                }
            });
        }

        public void Dispose() => _listener.Close();
    }

    public async Task<int> RunAsync(string[] args)
    {
        var hooks = Option(args, "--webhooks", 5);
        var changes = Option(args, "--changes", 1000);
        // the load is 1,000 writes from one key: lift the per-key write limit, which would rightly answer it with 429
        await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted(new Dictionary<string, string>
        {
            ["Webhooks__AllowPrivateTargets"] = "true",
        }));
        using var http = api.CreateClient();
        var receivers = Enumerable.Range(0, hooks).Select(_ => new Receiver()).ToList();
        var ids = new List<string>();
        foreach (var r in receivers)
        {
            var created = await (await http.PostAsJsonAsync("/api/webhooks", new { url = r.Url, events = new[] { "flag.changed" }, secret = "benchmark-secret-0123456789" }))
                .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
            ids.Add(created.GetProperty("id").GetString()!);
        }
        var flag = await (await http.PostAsJsonAsync("/api/flags", new { name = "webhook-bench", targetEnvironment = "staging" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;
        Console.WriteLine($"API pid {api.ProcessId}; {Environment.ProcessorCount} cores; load average {LoadAverage()}; {hooks} webhooks, {changes} changes");

        var started = DateTime.UtcNow;
        for (var i = 0; i < changes; i++)
            (await http.PatchAsync($"/api/flags/{flagId}", JsonContent.Create(new { rolloutPercentage = i % 99 + 1 }))).EnsureSuccessStatusCode();
        var wrote = DateTime.UtcNow - started;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline && receivers.Any(r => r.Got.Select(g => g.Revision).Distinct().Count() < changes)) await Task.Delay(100);

        var failures = 0;
        var latencies = new List<double>();
        for (var h = 0; h < hooks; h++)
        {
            var got = receivers[h].Got.ToList();
            var distinct = got.Select(g => g.Revision).Distinct().Count();
            var ordered = got.Zip(got.Skip(1)).All(p => p.First.Revision <= p.Second.Revision);
            var logged = 0;
            string? cursor = null;
            do
            {
                var page = await http.GetFromJsonAsync<JsonElement>($"/api/webhooks/{ids[h]}/deliveries?limit=500" + (cursor is null ? "" : $"&cursor={cursor}"));
                foreach (var d in page.GetProperty("items").EnumerateArray())
                    logged += d.GetProperty("attemptLog").EnumerateArray().Count(a => a.GetProperty("statusCode").ValueKind == JsonValueKind.Number
                        && a.GetProperty("statusCode").GetInt32() is >= 200 and < 300);
                cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.String ? page.GetProperty("nextCursor").GetString() : null;
            } while (cursor is not null);
            var ok = distinct == changes && ordered && logged == got.Count;
            if (!ok) failures++;
            latencies.AddRange(got.Select(g => g.LatencyMs));
            Console.WriteLine($"webhook {h}: received {got.Count} ({distinct} distinct of {changes}), in revision order: {ordered}, log says {logged} delivered: {(ok ? "OK" : "MISMATCH")}");
        }
        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        Console.WriteLine($"writes: {changes} in {wrote.TotalSeconds:F1} s; change -> delivery p50 {P(0.5):F0} ms, p99 {P(0.99):F0} ms, max {latencies.LastOrDefault():F0} ms");
        Console.WriteLine($"load average at the end {LoadAverage()} (the machine is shared: read the numbers with it)");
        receivers.ForEach(r => r.Dispose());
        return failures == 0 ? 0 : 1;
    }
}
