using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Benchmarks.Cache;
using FlagAnalyzer.Benchmarks.Common;
using FlagAnalyzer.Benchmarks.Reliability;
using FlagAnalyzer.Tests.Support;
using Npgsql;
using NpgsqlTypes;

namespace FlagAnalyzer.Benchmarks.Storage;

/// <summary>
/// <c>postgres</c>: the API on PostgreSQL against its baselines, in one run, on 127.0.0.1 (a throw-away cluster started
/// with initdb/pg_ctl, a redis-server for the replicas):
/// (1) batch ingest — 1,000-sample <c>POST /api/metrics</c> batches (<c>--senders</c> clients, closed loops) against a raw
///     binary COPY of the same rows into the same table (as many connections); rounds alternate;
/// (2) served from memory — <c>GET /api/flags/{id}</c> and OFREP evaluation with wrk (-t2 -c64) on an API on PostgreSQL
///     against the same on an API on SQLite, each with its own redis-server (the same cache, only the store differs);
///     rounds alternate;
/// (3) propagation — two replicas on one database and one Redis: a PATCH acknowledged by replica A, then OFREP on
///     replica B polled until it serves the change; p50/p99 over <c>--changes</c> changes.
/// Options: <c>--rounds 3 --seconds 5 --changes 200 --senders 1</c>, and <c>--only ingest|reads|propagation</c>.
/// </summary>
public sealed class PostgresScenario : IScenario
{
    public string Name => "postgres";

    private const string OfrepBody = """{"context":{"targetingKey":"user-123","groups":["free"]}}""";

    public async Task<int> RunAsync(string[] args)
    {
        var rounds = Measure.Option(args, "--rounds", 3);
        var seconds = Measure.Option(args, "--seconds", 5);
        var changes = Measure.Option(args, "--changes", 200);
        var senders = Measure.Option(args, "--senders", 1);
        var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var pg = await PostgresServer.Shared();
        Console.WriteLine($"postgres: cluster on 127.0.0.1:{pg.Port} ({pg.BinDirectory}); {Environment.ProcessorCount} cores; load average {Measure.LoadAverage()}");

        if (only is null or "ingest") await IngestAsync(pg, rounds, seconds, senders);
        if (only is null or "reads") await ReadsAsync(pg, rounds, seconds);
        if (only is null or "propagation") await PropagationAsync(pg, changes);
        Console.WriteLine($"load average after: {Measure.LoadAverage()}");
        return 0;
    }

    private static async Task IngestAsync(PostgresServer pg, int rounds, int seconds, int senders)
    {
        var database = await pg.CreateDatabaseAsync("bench_ingest");
        // batch ingest from --senders closed loops on one key: the write limit is lifted so the ratio compares the store
        // with raw COPY, not with the limiter
        await using var api = await ApiProcess.StartAsync(ApiProcess.WithWriteLimitLifted(new Dictionary<string, string> { ["ConnectionStrings__flagdb"] = database }));
        using var http = api.CreateClient();
        var flagId = (await (await http.PostAsJsonAsync("/api/flags", new { name = "ingest" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var start = DateTimeOffset.UtcNow.AddDays(-1);
        var batch = Enumerable.Range(0, 1000).Select(i => new
        {
            flagId, timestamp = start.AddSeconds(i), cohort = i % 2 == 0 ? "control" : "treatment",
            errorRate = 0.5 + i % 7 * 0.01, latencyP50 = 45.0 + i % 5, latencyP99 = 120.0 + i % 11, requestCount = 5000L,
            conversionRate = 3.2, userSatisfactionScore = 4.2,
        }).ToArray();
        var json = JsonSerializer.Serialize(batch, new JsonSerializerOptions(JsonSerializerDefaults.Web));

        var connections = new List<NpgsqlConnection>();
        for (var i = 0; i < senders; i++)
        {
            var c = new NpgsqlConnection(database);
            await c.OpenAsync();
            connections.Add(c);
        }
        async Task CopyOnceAsync(int sender)
        {
            await using var copy = await connections[sender].BeginBinaryImportAsync(
                "COPY impact_metrics (flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant) FROM STDIN (FORMAT BINARY)");
            foreach (var s in batch)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(s.flagId, NpgsqlDbType.Text);
                await copy.WriteAsync(s.timestamp.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
                await copy.WriteAsync(s.cohort, NpgsqlDbType.Text);
                await copy.WriteAsync(s.errorRate, NpgsqlDbType.Double);
                await copy.WriteAsync(s.latencyP50, NpgsqlDbType.Double);
                await copy.WriteAsync(s.latencyP99, NpgsqlDbType.Double);
                await copy.WriteAsync(s.requestCount, NpgsqlDbType.Bigint);
                await copy.WriteAsync(s.conversionRate, NpgsqlDbType.Double);
                await copy.WriteAsync(s.userSatisfactionScore, NpgsqlDbType.Double);
                await copy.WriteNullAsync();
            }
            await copy.CompleteAsync();
        }
        async Task PostOnceAsync(int sender)
        {
            using var r = await http.PostAsync("/api/metrics", new StringContent(json, Encoding.UTF8, "application/json"));
            r.EnsureSuccessStatusCode();
        }
        // <senders> closed loops at once on each side: API clients against COPY connections
        async Task<double> RateAsync(Func<int, Task> once, int seconds)
        {
            var sw = Stopwatch.StartNew();
            var n = 0;
            await Task.WhenAll(Enumerable.Range(0, senders).Select(async sender =>
            {
                while (sw.Elapsed.TotalSeconds < seconds) { await once(sender); Interlocked.Increment(ref n); }
            }));
            return n * 1000 / sw.Elapsed.TotalSeconds;
        }

        // warm-up, as long as a round on each side: with 1 s the first round was always the API's worst (tiered JIT still
        // compiling the write path), which measured start-up, not ingest
        await RateAsync(CopyOnceAsync, seconds);
        await RateAsync(PostOnceAsync, seconds);
        var rows = new List<(double Copy, double Api)>();
        for (var round = 1; round <= rounds; round++)
        {
            var copyRate = await RateAsync(CopyOnceAsync, seconds);
            var apiRate = await RateAsync(PostOnceAsync, seconds);
            rows.Add((copyRate, apiRate));
            Console.WriteLine($"ingest round {round} ({senders} sender(s) each side): raw COPY {copyRate:N0} samples/s | POST /api/metrics {apiRate:N0} samples/s | ratio {apiRate / copyRate:0.00} | load {Measure.LoadAverage()}");
        }
        foreach (var c in connections) await c.DisposeAsync();
        Console.WriteLine($"ingest ({senders} sender(s) each side): COPY {Measure.MedianAndRange(rows.Select(r => r.Copy), "N0")}; API {Measure.MedianAndRange(rows.Select(r => r.Api), "N0")} samples/s; ratio API/COPY {Measure.MedianAndRange(rows.Select(r => r.Api / r.Copy), "0.00")}");
    }

    private static async Task ReadsAsync(PostgresServer pg, int rounds, int seconds)
    {
        var database = await pg.CreateDatabaseAsync("bench_reads");
        // the same cache on both sides (each its own redis-server, as replicas of a PostgreSQL deployment have): only the store differs
        using var redisPg = await StartRedisAsync();
        using var redisSqlite = await StartRedisAsync();
        await using var onPg = await ApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__flagdb"] = database, ["ConnectionStrings__cache"] = redisPg.Address,
        });
        await using var onSqlite = await ApiProcess.StartAsync(new Dictionary<string, string> { ["ConnectionStrings__cache"] = redisSqlite.Address });
        var apis = new[] { ("PostgreSQL", onPg), ("SQLite", onSqlite) };
        var flagIds = new Dictionary<string, string>();
        foreach (var (store, api) in apis)
        {
            using var http = api.CreateClient();
            var created = await http.PostAsJsonAsync("/api/flags", new
            {
                name = "new-checkout", enabled = true, rolloutPercentage = 100,
                targeting = JsonDocument.Parse("""{"if": [{"in": ["beta", {"var": "groups"}]}, "on", {"fractional": [["on", 20], ["off", 80]]}]}""").RootElement,
            });
            flagIds[store] = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }
        var script = Path.Combine(Path.GetTempPath(), $"pg-ofrep-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, $"wrk.method = \"POST\"\nwrk.body = '{OfrepBody}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
        try
        {
            foreach (var (label, path, lua) in new[] { ("GET /api/flags/{id}", "flag", (string?)null), ("POST /ofrep/v1/evaluate/flags/{key}", "ofrep", script) })
            {
                var results = new Dictionary<string, List<MetricsLoadScenario.WrkResult>> { ["PostgreSQL"] = [], ["SQLite"] = [] };
                foreach (var (store, api) in apis) // warm-up
                    await MetricsLoadScenario.WrkAsync(api.BaseAddress, PathFor(path, flagIds[store]), lua, 64, 2);
                for (var round = 1; round <= rounds; round++)
                    foreach (var (store, api) in round % 2 == 1 ? apis : apis.Reverse())
                    {
                        var r = await MetricsLoadScenario.WrkAsync(api.BaseAddress, PathFor(path, flagIds[store]), lua, 64, seconds);
                        results[store].Add(r);
                        Console.WriteLine($"{label} round {round} {store,-10}: {r.Rps,9:N0} req/s p99 {r.P99:0.00} ms | load {Measure.LoadAverage()}");
                    }
                var ratios = results["PostgreSQL"].Zip(results["SQLite"], (p, s) => p.Rps / s.Rps).ToList();
                Console.WriteLine($"{label}: PostgreSQL {Measure.MedianAndRange(results["PostgreSQL"].Select(r => r.Rps), "N0")} req/s (p99 {Measure.MedianAndRange(results["PostgreSQL"].Select(r => r.P99), "0.00")} ms); " +
                                  $"SQLite {Measure.MedianAndRange(results["SQLite"].Select(r => r.Rps), "N0")} req/s (p99 {Measure.MedianAndRange(results["SQLite"].Select(r => r.P99), "0.00")} ms); ratio PostgreSQL/SQLite per round {Measure.MedianAndRange(ratios, "0.00")}");
            }
        }
        finally
        {
            File.Delete(script);
        }
        static string PathFor(string kind, string flagId) => kind == "flag" ? $"/api/flags/{flagId}" : "/ofrep/v1/evaluate/flags/new-checkout";
    }

    private static async Task PropagationAsync(PostgresServer pg, int changes)
    {
        var database = await pg.CreateDatabaseAsync("bench_replicas");
        using var redis = await StartRedisAsync();
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__flagdb"] = database,
            ["ConnectionStrings__cache"] = redis.Address,
        };
        await using var a = await ApiProcess.StartAsync(settings);
        await using var b = await ApiProcess.StartAsync(settings);
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();
        var flagId = (await (await httpA.PostAsJsonAsync("/api/flags", new { name = "propagation", enabled = false, rolloutPercentage = 100 })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var latencies = new List<double>();
        var timeouts = 0;
        for (var i = 0; i < changes; i++)
        {
            var enable = i % 2 == 0;
            var sw = new Stopwatch();
            using (var patch = await httpA.PatchAsJsonAsync($"/api/flags/{flagId}", new { enabled = enable }))
            {
                patch.EnsureSuccessStatusCode();
                sw.Start(); // from the acknowledgement on A
            }
            var seen = false;
            while (sw.Elapsed < TimeSpan.FromSeconds(5))
            {
                using var eval = await httpB.PostAsync("/ofrep/v1/evaluate/flags/propagation", new StringContent(OfrepBody, Encoding.UTF8, "application/json"));
                var value = (await eval.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("value").GetBoolean();
                if (value == enable) { seen = true; break; }
            }
            if (seen) latencies.Add(sw.Elapsed.TotalMilliseconds); else timeouts++;
        }
        latencies.Sort();
        double P(double q) => Measure.Percentile(latencies, q);
        Console.WriteLine($"propagation (change acknowledged by A → evaluated by B, {changes} changes): p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms, max {P(1):0.0} ms, not seen within 5 s: {timeouts}");
    }

    private sealed class Redis(ChildProcess process, int port) : IDisposable
    {
        public string Address => $"127.0.0.1:{port}";
        public void Dispose() => process.Dispose();
    }

    private static async Task<Redis> StartRedisAsync()
    {
        var port = ApiProcess.FreePort();
        var process = await ChildProcess.StartAsync(new ProcessStartInfo("redis-server",
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
            "Ready to accept connections", TimeSpan.FromSeconds(30));
        return new Redis(process, port);
    }
}
