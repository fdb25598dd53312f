using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Evaluation.Exposures;

/// <summary>SQL for <c>flag_exposures</c>.</summary>
public static class ExposureStore
{
    public static async Task AddAsync(WriteScope s, IReadOnlyList<(ExposureKey Key, long Count)> counts, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            INSERT INTO flag_exposures(flag_id, variant, minute, count) VALUES ($f, $v, $m, $n)
            ON CONFLICT(flag_id, variant, minute) DO UPDATE SET count = count + excluded.count
            """);
        var f = cmd.Parameters.Add("$f", SqliteType.Text);
        var v = cmd.Parameters.Add("$v", SqliteType.Text);
        var m = cmd.Parameters.Add("$m", SqliteType.Integer);
        var n = cmd.Parameters.Add("$n", SqliteType.Integer);
        foreach (var (key, count) in counts)
        {
            (f.Value, v.Value, m.Value, n.Value) = (key.FlagId, key.Variant, key.Minute, count);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    public static async Task<List<(ExposureKey Key, long Count)>> ListAsync(SqliteConnection conn, string flagId, long fromMinute, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, """
            SELECT variant, minute, count FROM flag_exposures WHERE flag_id = $f AND minute >= $from ORDER BY minute, variant
            """).With("$f", flagId).With("$from", fromMinute);
        return await cmd.ListAsync(r => (new ExposureKey(flagId, r.GetString(0), r.GetInt64(1)), r.GetInt64(2)), ct);
    }
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
            await using var s = await db.BeginWriteAsync(ct);
            await ExposureStore.AddAsync(s, counts, ct);
            await s.CommitAsync(ct);
        }
        catch (Exception e) when (e is SqliteException or OperationCanceledException or InvalidOperationException)
        {
            counter.Restore(counts);
            LogFlushFailed(e, counts.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} exposure count(s) failed; they are kept for the next flush")]
    private partial void LogFlushFailed(Exception e, int count);
}
