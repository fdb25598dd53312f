using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FlagAnalyzer.Benchmarks.Common;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Benchmarks.Core;

/// <summary>
/// One batch of 1,000 metric samples: through <c>POST /api/metrics</c> on a real API process over loopback,
/// against the baseline of the same 1,000 rows inserted straight into SQLite (one transaction, one prepared
/// statement, WAL) in the same run. Samples/s = 1,000 / mean; the ratio is baseline mean / HTTP mean.
/// </summary>
[MemoryDiagnoser]
public class IngestionBenchmarks
{
    private const int BatchSize = 1_000;
    private ApiProcess _api = null!;
    private HttpClient _http = null!;
    private byte[] _body = null!;
    private string _baselineDir = null!;
    private SqliteConnection _baseline = null!;
    private (double err, double p50, double p99, long n)[] _rows = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _api = await ApiProcess.StartAsync();
        _http = _api.CreateClient();
        var flag = await _http.PostAsync("/api/flags", new StringContent("""{"name":"ingest-bench","targetEnvironment":"production"}""", Encoding.UTF8, "application/json"));
        var flagId = JsonDocument.Parse(await flag.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        var rng = new Random(42);
        _rows = Enumerable.Range(0, BatchSize)
            .Select(_ => (Math.Round(rng.NextDouble() * 2, 3), Math.Round(30 + rng.NextDouble() * 20, 1), Math.Round(120 + rng.NextDouble() * 80, 1), (long)rng.Next(500, 5000)))
            .ToArray();
        _body = JsonSerializer.SerializeToUtf8Bytes(_rows.Select(r => new
        {
            flagId, errorRate = r.err, latencyP50 = r.p50, latencyP99 = r.p99, requestCount = r.n, conversionRate = 3.1, userSatisfactionScore = 4.2,
        }));

        _baselineDir = Directory.CreateTempSubdirectory("flaganalyzer-baseline-").FullName;
        _baseline = new SqliteConnection($"Data Source={Path.Combine(_baselineDir, "baseline.db")}");
        _baseline.Open();
        using var cmd = _baseline.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
            CREATE TABLE impact_metrics (id INTEGER PRIMARY KEY, flag_id TEXT NOT NULL, timestamp INTEGER NOT NULL, cohort TEXT NULL,
                error_rate REAL NOT NULL, latency_p50 REAL NOT NULL, latency_p99 REAL NOT NULL, request_count INTEGER NOT NULL,
                conversion_rate REAL NULL, user_satisfaction_score REAL NULL);
            CREATE INDEX ix_impact_metrics_flag_time ON impact_metrics(flag_id, timestamp);
            """;
        cmd.ExecuteNonQuery();
    }

    [Benchmark(Baseline = true, Description = "SQLite batched insert, 1,000 rows")]
    public void SqliteBatchInsert()
    {
        using var tx = _baseline.BeginTransaction();
        using var cmd = _baseline.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO impact_metrics(flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score)
            VALUES ($f, $t, $c, $e, $p50, $p99, $n, $cr, $s)
            """;
        var f = cmd.Parameters.Add("$f", SqliteType.Text);
        var t = cmd.Parameters.Add("$t", SqliteType.Integer);
        var e = cmd.Parameters.Add("$e", SqliteType.Real);
        var p50 = cmd.Parameters.Add("$p50", SqliteType.Real);
        var p99 = cmd.Parameters.Add("$p99", SqliteType.Real);
        var n = cmd.Parameters.Add("$n", SqliteType.Integer);
        var c = cmd.Parameters.Add("$c", SqliteType.Text);
        var cr = cmd.Parameters.Add("$cr", SqliteType.Real);
        var s = cmd.Parameters.Add("$s", SqliteType.Real);
        cmd.Prepare();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var r in _rows)
        {
            f.Value = "flg_bench";
            t.Value = now;
            e.Value = r.err;
            p50.Value = r.p50;
            p99.Value = r.p99;
            n.Value = r.n;
            c.Value = DBNull.Value;
            cr.Value = 3.1;
            s.Value = 4.2;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    [Benchmark(Description = "POST /api/metrics, 1,000 samples")]
    public async Task HttpBatch()
    {
        using var content = new ByteArrayContent(_body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync("/api/metrics", content);
        response.EnsureSuccessStatusCode();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _http.Dispose();
        await _api.DisposeAsync();
        _baseline.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_baselineDir, recursive: true);
    }
}
