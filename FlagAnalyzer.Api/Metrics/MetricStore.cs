using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Metrics;

public static class MetricStore
{
    private const string Columns =
        "id, flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant";

    /// <summary>
    /// The id of each flag id or name that names a flag, read inside the caller's write transaction (so a delete
    /// cannot slip between the check and the insert). Reads <c>feature_flags</c> directly: Metrics may not
    /// reference Flags, and this must be the transaction's view, not a cache's.
    /// </summary>
    public static async Task<Dictionary<string, string>> ResolveFlagIdsAsync(WriteScope scope, IEnumerable<string> keys, CancellationToken ct)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var cmd = scope.Command("SELECT id FROM feature_flags WHERE id = $k UNION ALL SELECT id FROM feature_flags WHERE name = $k LIMIT 1");
        var k = cmd.Parameters.Add("$k", SqliteType.Text);
        foreach (var key in keys)
        {
            k.Value = key;
            if (await cmd.ExecuteScalarAsync(ct) is string id) ids[key] = id;
        }
        return ids;
    }

    /// <summary>
    /// Inserts the samples with one prepared statement inside the caller's write transaction and returns them
    /// with their ids. Ids are rowids: the write transaction holds SQLite's only write lock, so the rows of
    /// one batch get consecutive rowids ending at <c>last_insert_rowid()</c>.
    /// </summary>
    public static List<MetricSample> Insert(WriteScope scope, IReadOnlyList<MetricSample> samples)
    {
        using var cmd = scope.Command("""
            INSERT INTO impact_metrics(flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant)
            VALUES ($f, $t, $c, $e, $p50, $p99, $n, $cr, $s, $v)
            """);
        var f = cmd.Parameters.Add("$f", SqliteType.Text);
        var t = cmd.Parameters.Add("$t", SqliteType.Integer);
        var c = cmd.Parameters.Add("$c", SqliteType.Text);
        var e = cmd.Parameters.Add("$e", SqliteType.Real);
        var p50 = cmd.Parameters.Add("$p50", SqliteType.Real);
        var p99 = cmd.Parameters.Add("$p99", SqliteType.Real);
        var n = cmd.Parameters.Add("$n", SqliteType.Integer);
        var cr = cmd.Parameters.Add("$cr", SqliteType.Real);
        var s = cmd.Parameters.Add("$s", SqliteType.Real);
        var v = cmd.Parameters.Add("$v", SqliteType.Text);
        cmd.Prepare();

        foreach (var m in samples)
        {
            f.Value = m.FlagId;
            t.Value = Time.ToMs(m.Timestamp);
            c.Value = (object?)m.Cohort ?? DBNull.Value;
            e.Value = m.ErrorRate;
            p50.Value = m.LatencyP50;
            p99.Value = m.LatencyP99;
            n.Value = m.RequestCount;
            cr.Value = (object?)m.ConversionRate ?? DBNull.Value;
            s.Value = (object?)m.UserSatisfactionScore ?? DBNull.Value;
            v.Value = (object?)m.Variant ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }

        using var last = scope.Command("SELECT last_insert_rowid()");
        var lastId = (long)last.ExecuteScalar()!;
        var stored = new List<MetricSample>(samples.Count);
        var firstId = lastId - samples.Count + 1;
        for (var i = 0; i < samples.Count; i++) stored.Add(samples[i] with { Id = firstId + i });
        return stored;
    }

    /// <summary>A flag's samples in time order, optionally within [since, until), after a keyset position.</summary>
    public static async Task<List<MetricSample>> ListAsync(SqliteConnection conn, SqliteTransaction? tx, string flagId,
        DateTimeOffset? since, DateTimeOffset? until, string? cohort, (long Ts, long Id)? after, int limit, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            SELECT {Columns} FROM impact_metrics
            WHERE flag_id = $f
              AND ($since IS NULL OR timestamp >= $since)
              AND ($until IS NULL OR timestamp < $until)
              AND ($cohort IS NULL OR cohort = $cohort)
              AND ($ats IS NULL OR timestamp > $ats OR (timestamp = $ats AND id > $aid))
            ORDER BY timestamp, id
            LIMIT $limit
            """)
            .With("$f", flagId)
            .With("$since", since is { } s ? Time.ToMs(s) : null)
            .With("$until", until is { } u ? Time.ToMs(u) : null)
            .With("$cohort", cohort)
            .With("$ats", after?.Ts)
            .With("$aid", after?.Id)
            .With("$limit", limit);
        return await cmd.ListAsync(Read, ct);
    }

    /// <summary>The newest <paramref name="max"/> samples of a flag, returned oldest first.</summary>
    public static async Task<List<MetricSample>> RecentAsync(SqliteConnection conn, SqliteTransaction? tx, string flagId, int max, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            SELECT * FROM (SELECT {Columns} FROM impact_metrics WHERE flag_id = $f ORDER BY timestamp DESC, id DESC LIMIT $max)
            ORDER BY timestamp, id
            """).With("$f", flagId).With("$max", max);
        return await cmd.ListAsync(Read, ct);
    }

    public static MetricSample Read(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        FlagId = r.GetString(1),
        Timestamp = Time.FromMs(r.GetInt64(2)),
        Cohort = r.StringOrNull(3),
        ErrorRate = r.GetDouble(4),
        LatencyP50 = r.GetDouble(5),
        LatencyP99 = r.GetDouble(6),
        RequestCount = r.GetInt64(7),
        ConversionRate = r.DoubleOrNull(8),
        UserSatisfactionScore = r.DoubleOrNull(9),
        Variant = r.StringOrNull(10),
    };
}
