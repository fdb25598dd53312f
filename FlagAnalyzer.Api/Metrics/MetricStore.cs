using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using SQLitePCL;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>SQL for <c>impact_metrics</c>, the one place that knows its columns (<see cref="SampleRow"/>).</summary>
public static class MetricStore
{
    /// <summary>Every column, for reads.</summary>
    public const string Columns =
        "id, flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant, environment";

    private const string InsertColumns =
        "flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant, environment";

    private const string InsertSql = $"""
        INSERT INTO impact_metrics({InsertColumns})
        VALUES (@FlagId, @Timestamp, @Cohort, @ErrorRate, @LatencyP50, @LatencyP99, @RequestCount, @ConversionRate, @UserSatisfactionScore, @Variant, @Environment)
        """;

    /// <summary>An <c>impact_metrics</c> row as stored (time as Unix ms).</summary>
    public sealed class SampleRow
    {
        public long Id { get; set; }
        public string FlagId { get; set; } = "";
        public long Timestamp { get; set; }
        public string? Cohort { get; set; }
        public double ErrorRate { get; set; }
        public double LatencyP50 { get; set; }
        public double LatencyP99 { get; set; }
        public long RequestCount { get; set; }
        public double? ConversionRate { get; set; }
        public double? UserSatisfactionScore { get; set; }
        public string? Variant { get; set; }
        public string Environment { get; set; } = "";

        /// <summary>Null when the cohort is a word this build does not know (<see cref="StoredWords"/>).</summary>
        public MetricSample? ToSample() => !StoredWords.TryReadOptional<Cohort>("impact_metrics", "cohort", null, Cohort, out var cohort) ? null : new()
        {
            Id = Id, FlagId = FlagId, Timestamp = Time.FromMs(Timestamp), Cohort = cohort, ErrorRate = ErrorRate, LatencyP50 = LatencyP50,
            LatencyP99 = LatencyP99, RequestCount = RequestCount, ConversionRate = ConversionRate,
            UserSatisfactionScore = UserSatisfactionScore, Variant = Variant, Environment = Environment,
        };
    }

    /// <summary>
    /// Inserts the samples inside the caller's write transaction and returns them with their ids. SQLite: one prepared
    /// statement run per row (<see cref="InsertSqlite"/>), ids are rowids — the write transaction holds SQLite's only
    /// write lock, so the rows of one batch get consecutive rowids ending at <c>last_insert_rowid()</c>. PostgreSQL: a run of ids reserved from the identity
    /// sequence first (<see cref="ReserveIdsSql"/>), then every row in one binary COPY. The caller holds the samples' flags'
    /// ingest lock (<see cref="WriteLock.Ingest"/>), so two batches for one flag may commit in the other order than their
    /// ids: detection's window takes a transaction's own samples as given, and a walk by id (<see cref="AfterIdAsync"/>)
    /// runs under the flag's lock, which waits for every ingest into the flag.
    /// </summary>
    public static async Task<List<MetricSample>> InsertAsync(WriteScope scope, IReadOnlyList<MetricSample> samples, CancellationToken ct)
    {
        if (samples.Count == 0) return [];
        // a sample without its environment would belong to no environment's analysis: the write path resolves it first
        if (samples.FirstOrDefault(m => string.IsNullOrEmpty(m.Environment)) is { } unplaced)
            throw new ArgumentException($"A sample of flag {unplaced.FlagId} has no environment.", nameof(samples));
        if (scope.Connection is SqliteConnection sqlite)
        {
            InsertSqlite(sqlite, samples);
            return WithRowIds(samples, await scope.ScalarAsync<long>("SELECT last_insert_rowid()", null, ct));
        }
        var pg = (NpgsqlConnection)scope.Connection;

        var lastId = await scope.ScalarAsync<long>(ReserveIdsSql, new { n = samples.Count }, ct);
        var stored = WithRowIds(samples, lastId);
        await using var copy = await pg.BeginBinaryImportAsync(CopySql, ct);
        foreach (var m in stored)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(m.Id, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(m.FlagId, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(Time.ToMs(m.Timestamp), NpgsqlDbType.Bigint, ct);
            await WriteNullableAsync(copy, m.Cohort?.ToWire(), NpgsqlDbType.Text, ct);
            await copy.WriteAsync(m.ErrorRate, NpgsqlDbType.Double, ct);
            await copy.WriteAsync(m.LatencyP50, NpgsqlDbType.Double, ct);
            await copy.WriteAsync(m.LatencyP99, NpgsqlDbType.Double, ct);
            await copy.WriteAsync(m.RequestCount, NpgsqlDbType.Bigint, ct);
            await WriteNullableAsync(copy, m.ConversionRate, NpgsqlDbType.Double, ct);
            await WriteNullableAsync(copy, m.UserSatisfactionScore, NpgsqlDbType.Double, ct);
            await WriteNullableAsync(copy, m.Variant, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(m.Environment, NpgsqlDbType.Text, ct);
        }
        await copy.CompleteAsync(ct);
        return stored;
    }

    /// <summary>
    /// The SQLite batch: one statement prepared once on the connection's own handle (so it runs in the caller's write
    /// transaction), its parameter positions looked up once, each row's values bound by position and stepped. Issue 25: the
    /// per-environment column (migration 5) made every row bind one more text value and every index insert compare one
    /// more column; through Microsoft.Data.Sqlite each value was also found again by name on every row (a linear scan of
    /// the statement's names) and re-bound even when equal to the previous row's. Binding by position, and only the values
    /// that changed (SQLite keeps bindings across a reset), pays for the new column. Synchronous, as Microsoft.Data.Sqlite's
    /// asynchronous methods are.
    /// </summary>
    private static void InsertSqlite(SqliteConnection conn, IReadOnlyList<MetricSample> samples)
    {
        var db = conn.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, InsertSql, out var stmt);
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, db);
        using (stmt)
        {
            int At(string name) => raw.sqlite3_bind_parameter_index(stmt, name) is > 0 and var i ? i
                : throw new InvalidOperationException($"The insert has no parameter {name}.");
            int flagId = At("@FlagId"), timestamp = At("@Timestamp"), cohort = At("@Cohort"), errorRate = At("@ErrorRate"),
                p50 = At("@LatencyP50"), p99 = At("@LatencyP99"), requests = At("@RequestCount"), conversion = At("@ConversionRate"),
                satisfaction = At("@UserSatisfactionScore"), variant = At("@Variant"), environment = At("@Environment");
            MetricSample? previous = null;
            foreach (var m in samples)
            {
                // stored forms, as SampleRow reads them back: times as Unix ms, closed words by their wire names
                if (previous is null || !string.Equals(previous.FlagId, m.FlagId, StringComparison.Ordinal)) Check(raw.sqlite3_bind_text(stmt, flagId, m.FlagId));
                if (previous is null || previous.Timestamp != m.Timestamp) Check(raw.sqlite3_bind_int64(stmt, timestamp, Time.ToMs(m.Timestamp)));
                if (previous is null || previous.Cohort != m.Cohort) Check(BindText(stmt, cohort, m.Cohort?.ToWire()));
                Check(raw.sqlite3_bind_double(stmt, errorRate, m.ErrorRate));
                Check(raw.sqlite3_bind_double(stmt, p50, m.LatencyP50));
                Check(raw.sqlite3_bind_double(stmt, p99, m.LatencyP99));
                Check(raw.sqlite3_bind_int64(stmt, requests, m.RequestCount));
                Check(BindDouble(stmt, conversion, m.ConversionRate));
                Check(BindDouble(stmt, satisfaction, m.UserSatisfactionScore));
                if (previous is null || !string.Equals(previous.Variant, m.Variant, StringComparison.Ordinal)) Check(BindText(stmt, variant, m.Variant));
                if (previous is null || !string.Equals(previous.Environment, m.Environment, StringComparison.Ordinal))
                    Check(raw.sqlite3_bind_text(stmt, environment, m.Environment));
                rc = raw.sqlite3_step(stmt);
                if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, db);
                Check(raw.sqlite3_reset(stmt));
                previous = m;
            }
        }

        void Check(int result)
        {
            if (result != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(result, db);
        }
    }

    private static int BindText(sqlite3_stmt stmt, int index, string? value) =>
        value is null ? raw.sqlite3_bind_null(stmt, index) : raw.sqlite3_bind_text(stmt, index, value);

    private static int BindDouble(sqlite3_stmt stmt, int index, double? value) =>
        value is { } v ? raw.sqlite3_bind_double(stmt, index, v) : raw.sqlite3_bind_null(stmt, index);

    /// <summary><see cref="InsertAsync"/> for callers without a task (tests and benchmarks that seed a window).</summary>
    public static List<MetricSample> Insert(WriteScope scope, IReadOnlyList<MetricSample> samples) =>
        InsertAsync(scope, samples, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Reserves <c>n</c> consecutive ids and returns the last: one <c>nextval</c> for the first, one <c>setval</c> past the
    /// rest (1,000 <c>nextval</c>s cost ≈ 1–4 ms a batch, this ≈ 0.1 ms). The pair is not atomic, and writers of different
    /// flags run at once, so it runs under an advisory lock of its own taken in a savepoint and rolled back with it: that
    /// releases the lock at once (a subtransaction's locks go with it) while the sequence keeps its new value (sequences
    /// are not transactional). The key is an arbitrary constant ("FAmetIds" in ASCII). A rolled-back batch leaves a gap,
    /// as <c>nextval</c> would.
    /// </summary>
    private const string ReserveIdsSql = """
        SAVEPOINT reserve_sample_ids;
        SELECT setval(pg_get_serial_sequence('impact_metrics', 'id'), nextval(pg_get_serial_sequence('impact_metrics', 'id')) + @n - 1)
        FROM (SELECT pg_advisory_xact_lock(5062447738651239539)) AS locked;
        ROLLBACK TO SAVEPOINT reserve_sample_ids;
        RELEASE SAVEPOINT reserve_sample_ids
        """;


    private const string CopySql = $"COPY impact_metrics ({Columns}) FROM STDIN (FORMAT BINARY)";

    private static List<MetricSample> WithRowIds(IReadOnlyList<MetricSample> samples, long lastId)
    {
        var stored = new List<MetricSample>(samples.Count);
        var firstId = lastId - samples.Count + 1;
        for (var i = 0; i < samples.Count; i++) stored.Add(samples[i] with { Id = firstId + i });
        return stored;
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct) where T : class =>
        value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, type, ct);

    private static Task WriteNullableAsync(NpgsqlBinaryImporter copy, double? value, NpgsqlDbType type, CancellationToken ct) =>
        value is { } v ? copy.WriteAsync(v, type, ct) : copy.WriteNullAsync(ct);

    /// <summary>A flag's samples in one environment in time order, optionally within [since, until), after a keyset position.</summary>
    public static async Task<List<MetricSample>> ListAsync(DbConnection conn, DbTransaction? tx, string flagId, string environment,
        DateTimeOffset? since, DateTimeOffset? until, Cohort? cohort, (long Ts, long Id)? after, int limit, CancellationToken ct)
    {
        var rows = await conn.ListAsync<SampleRow>(tx, $"""
            SELECT {Columns} FROM impact_metrics
            WHERE flag_id = @flagId AND environment = @environment
              AND (@since IS NULL OR timestamp >= @since)
              AND (@until IS NULL OR timestamp < @until)
              AND (@cohort IS NULL OR cohort = @cohort)
              AND (@afterTs IS NULL OR timestamp > @afterTs OR (timestamp = @afterTs AND id > @afterId))
            ORDER BY timestamp, id
            LIMIT @limit
            """, new
            {
                flagId,
                environment,
                since = since is { } s ? Time.ToMs(s) : (long?)null,
                until = until is { } u ? Time.ToMs(u) : (long?)null,
                cohort = cohort?.ToWire(),
                afterTs = after?.Ts,
                afterId = after?.Id,
                limit,
            }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>
    /// A flag's samples stamped at or after <paramref name="since"/> with an id above <paramref name="afterId"/>, in id order:
    /// what an incremental reader (the rollout guardian's evidence) has not seen yet. New rows get higher ids (SQLite rowids;
    /// PostgreSQL ids from the sequence). On PostgreSQL batches for one flag are copied at once and may commit out of id
    /// order: a walk that keeps its position must read under the flag's lock (<see cref="WriteLock.Flag"/>), which waits
    /// for every ingest into the flag, so no id below what it sees is still to commit.
    /// </summary>
    public static async Task<List<MetricSample>> AfterIdAsync(DbConnection conn, DbTransaction? tx, string flagId, string environment, long afterId,
        DateTimeOffset since, CancellationToken ct)
    {
        var rows = await conn.ListAsync<SampleRow>(tx, conn.Pick(
                sqlite: $"SELECT {Columns} FROM impact_metrics WHERE id > @afterId AND +flag_id = @flagId AND +environment = @environment AND timestamp >= @since ORDER BY id",
                postgres: $"SELECT {Columns} FROM impact_metrics WHERE id > @afterId AND flag_id = @flagId AND environment = @environment AND timestamp >= @since ORDER BY id"),
            new { flagId, environment, afterId, since = Time.ToMs(since) }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>
    /// The flag's samples with an id above <paramref name="afterId"/>, in id order, in the caller's transaction (detection's
    /// window catching up). On SQLite the <c>+</c> keeps the planner off the flag index, which would scan all the flag's rows;
    /// PostgreSQL has no such operator on text.
    /// </summary>
    public static async Task<List<MetricSample>> SamplesAfterAsync(WriteScope s, string flagId, string environment, long afterId, CancellationToken ct)
    {
        var rows = await s.ListAsync<SampleRow>(s.Pick(
                sqlite: $"SELECT {Columns} FROM impact_metrics WHERE id > @afterId AND +flag_id = @flagId AND +environment = @environment ORDER BY id",
                postgres: $"SELECT {Columns} FROM impact_metrics WHERE id > @afterId AND flag_id = @flagId AND environment = @environment ORDER BY id"),
            new { flagId, environment, afterId }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>
    /// The newest <paramref name="max"/> samples of a flag in one environment, newest first, for a window rebuild: the index
    /// (flag_id, environment, timestamp, id) walked backwards gives the order, so there is no sort.
    /// </summary>
    public static async Task<List<MetricSample>> NewestFirstAsync(WriteScope s, string flagId, string environment, int max, CancellationToken ct)
    {
        var rows = await s.ListAsync<SampleRow>(
            $"SELECT {Columns} FROM impact_metrics WHERE flag_id = @flagId AND environment = @environment ORDER BY timestamp DESC, id DESC LIMIT @max",
            new { flagId, environment, max }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>The newest <paramref name="max"/> samples of a flag in one environment, returned oldest first.</summary>
    public static async Task<List<MetricSample>> RecentAsync(DbConnection conn, DbTransaction? tx, string flagId, string environment, int max,
        CancellationToken ct)
    {
        var rows = await conn.ListAsync<SampleRow>(tx, $"""
            SELECT * FROM (SELECT {Columns} FROM impact_metrics WHERE flag_id = @flagId AND environment = @environment
                           ORDER BY timestamp DESC, id DESC LIMIT @max) AS recent
            ORDER BY timestamp, id
            """, new { flagId, environment, max }, ct);
        return rows.Known(r => r.ToSample());
    }
}
