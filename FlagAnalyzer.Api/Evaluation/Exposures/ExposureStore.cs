using FlagAnalyzer.Api.Storage;
using System.Data.Common;

namespace FlagAnalyzer.Api.Evaluation.Exposures;

/// <summary>SQL for <c>flag_exposures</c>, the one place that knows its columns.</summary>
public static class ExposureStore
{
    private sealed class ExposureRow
    {
        public string Variant { get; set; } = "";
        public long Minute { get; set; }
        public long Count { get; set; }
    }

    /// <summary>Adds the counts to what is stored (the upsert reads the same on both stores).</summary>
    public static Task AddAsync(WriteScope s, IReadOnlyList<(ExposureKey Key, long Count)> counts, CancellationToken ct) =>
        s.ExecAsync("""
            INSERT INTO flag_exposures(flag_id, environment, variant, minute, count) VALUES (@FlagId, @Environment, @Variant, @Minute, @Count)
            ON CONFLICT(flag_id, environment, variant, minute) DO UPDATE SET count = flag_exposures.count + excluded.count
            """, counts.Select(c => new { c.Key.FlagId, c.Key.Environment, c.Key.Variant, c.Key.Minute, c.Count }), ct);

    /// <summary>A flag's counts in one environment since <paramref name="fromMinute"/>.</summary>
    public static async Task<List<(ExposureKey Key, long Count)>> ListAsync(DbConnection conn, string flagId, string environment, long fromMinute,
        CancellationToken ct) =>
        (await conn.ListAsync<ExposureRow>(null, """
            SELECT variant, minute, count FROM flag_exposures
            WHERE flag_id = @flagId AND environment = @environment AND minute >= @fromMinute ORDER BY minute, variant
            """, new { flagId, environment, fromMinute }, ct)).ConvertAll(r => (new ExposureKey(flagId, environment, r.Variant, r.Minute), r.Count));
}

/// <summary>
/// Writes the counted exposures every <see cref="EvaluationOptions.ExposureFlushSeconds"/>, all of them in one
/// transaction, and once more when the API stops.
/// </summary>
internal sealed partial class ExposureFlusher(ExposureCounter counter, Db db, Microsoft.Extensions.Options.IOptions<EvaluationOptions> options,
    ILogger<ExposureFlusher> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.ExposureFlushSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) await FlushAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    public override async Task StopAsync(CancellationToken ct)
    {
        await base.StopAsync(ct);
        await FlushAsync(CancellationToken.None);
    }

    public async Task FlushAsync(CancellationToken ct)
    {
        var counts = counter.Drain();
        if (counts.Count == 0) return;
        try
        {
            // additive upserts need no lock; in one key order on every replica, two flushes cannot deadlock on their rows
            await using var s = await db.BeginWriteAsync(WriteLock.None, ct);
            await ExposureStore.AddAsync(s, counts.OrderBy(c => c.Key.FlagId, StringComparer.Ordinal).ThenBy(c => c.Key.Environment, StringComparer.Ordinal)
                .ThenBy(c => c.Key.Variant, StringComparer.Ordinal)
                .ThenBy(c => c.Key.Minute).ToList(), ct);
            await s.CommitAsync(ct);
        }
        catch (Exception e) when (e is DbException or OperationCanceledException or InvalidOperationException)
        {
            counter.Restore(counts);
            LogFlushFailed(e, counts.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} exposure count(s) failed; they are kept for the next flush")]
    private partial void LogFlushFailed(Exception e, int count);
}
