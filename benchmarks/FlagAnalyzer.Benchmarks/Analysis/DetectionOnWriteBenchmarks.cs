using BenchmarkDotNet.Attributes;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Extensions;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Benchmarks.Analysis;

/// <summary>
/// What detection adds to a metrics write, on the API's own services over a temp SQLite file (WAL), for a flag
/// with 10,000 samples of history split by an enable. Baseline: the write without detection — open the write
/// transaction, insert one sample, commit. Then the same write with detection on the warm path (the flag's window
/// is cached: read the new row, detect, stamp the token), and with a cold cache (rebuild the window from the
/// 10,000 rows in SQLite first — a restart, a rolled-back write, or a new change).
/// </summary>
[MemoryDiagnoser, MedianColumn]
public class DetectionOnWriteBenchmarks
{
    private WebApplication _app = null!;
    private Db _db = null!;
    private StatisticalAnomalyMonitor _monitor = null!;
    private FlagWindowCache _cache = null!;
    private string _flagId = null!;
    private string _dir = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _dir = Directory.CreateTempSubdirectory("flaganalyzer-detect-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Configuration["ConnectionStrings:flagdb"] = $"Data Source={Path.Combine(_dir, "flags.db")}";
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.AddApplicationServices();
        _app = builder.Build();
        await _app.MigrateDatabaseAsync();
        _db = _app.Services.GetRequiredService<Db>();
        _monitor = _app.Services.GetRequiredService<StatisticalAnomalyMonitor>();
        _cache = _app.Services.GetRequiredService<FlagWindowCache>();
        var flags = _app.Services.GetRequiredService<FlagService>();

        var created = await flags.CreateAsync(new CreateFlagCommand(new CreateFlagRequest("detect-bench", null, false, 0, "production", null, null, null, null, null, null), "bench"), default);
        _flagId = created is FlagWriteResult.Done done ? done.Flag.Id : throw new InvalidOperationException($"Could not create the flag: {created}");
        var rng = new Random(42);
        var now = DateTimeOffset.UtcNow;
        MetricSample Sample(DateTimeOffset at) => new()
        {
            FlagId = _flagId, Environment = "production", Timestamp = at, ErrorRate = 1 + rng.NextDouble() * 0.4 - 0.2, LatencyP50 = 100 + rng.NextDouble() * 10,
            LatencyP99 = 400 + rng.NextDouble() * 50, RequestCount = 1000,
        };
        await using (var s = await _db.BeginWriteAsync())
        {
            MetricStore.Insert(s, [.. Enumerable.Range(0, 5_000).Select(i => Sample(now.AddMinutes(-10_000 + i)))]);
            await s.CommitAsync();
        }
        await flags.PatchAsync(new PatchFlagCommand(_flagId, new PatchFlagRequest(null, null, true, 25, null, null, null, null, null, null, null), null, "bench"), default);
        await using (var s = await _db.BeginWriteAsync())
        {
            MetricStore.Insert(s, [.. Enumerable.Range(0, 5_000).Select(i => Sample(DateTimeOffset.UtcNow.AddMilliseconds(i)))]);
            await s.CommitAsync();
        }
        await WriteAsync(detect: true); // warm the window cache
    }

    private MetricSample Next() => new()
    {
        FlagId = _flagId, Environment = "production", Timestamp = DateTimeOffset.UtcNow, ErrorRate = 1, LatencyP50 = 100, LatencyP99 = 400, RequestCount = 1000,
    };

    private async Task WriteAsync(bool detect)
    {
        await using var s = await _db.BeginWriteAsync();
        MetricStore.Insert(s, [Next()]);
        if (detect) await _monitor.DetectAsync(s, [new(_flagId, "production")], default);
        await s.CommitAsync();
    }

    [Benchmark(Baseline = true, Description = "write 1 sample, no detection")]
    public Task WriteOnly() => WriteAsync(detect: false);

    [Benchmark(Description = "write 1 sample + detection (warm window)")]
    public Task WriteAndDetect() => WriteAsync(detect: true);

    [Benchmark(Description = "write 1 sample + detection (cold: rebuild 10k rows)")]
    public Task WriteAndDetectCold()
    {
        _cache.Forget(_flagId);
        return WriteAsync(detect: true);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
