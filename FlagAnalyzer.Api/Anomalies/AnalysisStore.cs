using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>The change a flag's analysis window is split around.</summary>
public sealed record Anchor(string ChangeId, ChangeType ChangeType, DateTimeOffset Timestamp, double? RolloutBefore = null, double? RolloutAfter = null);

/// <summary>SQL the detector needs beyond the metric and anomaly stores (and <c>analysis_windows</c>); callers own the transaction.</summary>
public static class AnalysisStore
{
    private sealed class AnchorRow
    {
        public string Id { get; set; } = "";
        public string ChangeType { get; set; } = "";
        public long Timestamp { get; set; }
        public double? RolloutBefore { get; set; }
        public double? RolloutAfter { get; set; }
    }

    /// <summary>
    /// The latest change that alters what users get: enabling, disabling, rollout moves, rollbacks, and updates
    /// that touch variants, rules, targeting or the default/off variant. Renames and description edits do not restart the analysis.
    /// The JSON functions differ: SQLite's json_extract/json_type, PostgreSQL's jsonb operators (a key that is present
    /// with a JSON null counts as present in both).
    /// </summary>
    public static async Task<Anchor?> LatestAnchorAsync(WriteScope s, string flagId, CancellationToken ct)
    {
        var sql = s.Pick(
            sqlite: """
                SELECT id, change_type, timestamp,
                       CASE WHEN json_valid(previous_value) THEN json_extract(previous_value, '$.rolloutPercentage') END AS rollout_before,
                       CASE WHEN json_valid(new_value) THEN json_extract(new_value, '$.rolloutPercentage') END AS rollout_after
                FROM flag_changes
                WHERE flag_id = @flagId
                  AND (change_type IN (@enabled, @disabled, @rollout, @rolledBack)
                       OR (change_type = @updated AND json_valid(new_value)
                           AND (json_type(new_value, '$.variants') IS NOT NULL OR json_type(new_value, '$.rules') IS NOT NULL
                                OR json_type(new_value, '$.targeting') IS NOT NULL OR json_type(new_value, '$.defaultVariant') IS NOT NULL
                                OR json_type(new_value, '$.offVariant') IS NOT NULL
                                OR json_type(new_value, '$.enabled') IS NOT NULL OR json_type(new_value, '$.rolloutPercentage') IS NOT NULL)))
                ORDER BY timestamp DESC, id DESC LIMIT 1
                """,
            postgres: """
                SELECT id, change_type, timestamp,
                       CASE WHEN jsonb_typeof(previous_value::jsonb -> 'rolloutPercentage') = 'number'
                            THEN (previous_value::jsonb ->> 'rolloutPercentage')::double precision END AS rollout_before,
                       CASE WHEN jsonb_typeof(new_value::jsonb -> 'rolloutPercentage') = 'number'
                            THEN (new_value::jsonb ->> 'rolloutPercentage')::double precision END AS rollout_after
                FROM flag_changes
                WHERE flag_id = @flagId
                  AND (change_type IN (@enabled, @disabled, @rollout, @rolledBack)
                       OR (change_type = @updated AND new_value IS NOT NULL
                           AND (new_value::jsonb -> 'variants' IS NOT NULL OR new_value::jsonb -> 'rules' IS NOT NULL
                                OR new_value::jsonb -> 'targeting' IS NOT NULL OR new_value::jsonb -> 'defaultVariant' IS NOT NULL
                                OR new_value::jsonb -> 'offVariant' IS NOT NULL
                                OR new_value::jsonb -> 'enabled' IS NOT NULL OR new_value::jsonb -> 'rolloutPercentage' IS NOT NULL)))
                ORDER BY timestamp DESC, id DESC LIMIT 1
                """);
        var row = await s.FirstOrDefaultAsync<AnchorRow>(sql, new
        {
            flagId,
            enabled = ChangeType.Enabled.ToWire(),
            disabled = ChangeType.Disabled.ToWire(),
            rollout = ChangeType.RolloutChanged.ToWire(),
            rolledBack = ChangeType.RolledBack.ToWire(),
            updated = ChangeType.Updated.ToWire(),
        }, ct);
        // the query matches known words only
        return row is null || !StoredWords.TryRead<ChangeType>("flag_changes", "change_type", row.Id, row.ChangeType, out var type) ? null
            : new Anchor(row.Id, type, Time.FromMs(row.Timestamp), row.RolloutBefore, row.RolloutAfter);
    }

    public static Task<string?> ReadTokenAsync(WriteScope s, string flagId, CancellationToken ct) =>
        s.ScalarAsync<string>("SELECT token FROM analysis_windows WHERE flag_id = @flagId", new { flagId }, ct);

    public static Task WriteTokenAsync(WriteScope s, string flagId, string token, CancellationToken ct) =>
        s.ExecAsync("""
            INSERT INTO analysis_windows(flag_id, token) VALUES (@flagId, @token)
            ON CONFLICT(flag_id) DO UPDATE SET token = excluded.token
            """, new { flagId, token }, ct);

    /// <summary>
    /// The flag's samples with an id above <paramref name="afterId"/>. New rows always get higher ids (SQLite rowids;
    /// PostgreSQL identity values drawn under the write lock), so this walks the id range. On SQLite the <c>+</c>
    /// keeps the planner off the flag index, which would scan all the flag's rows; PostgreSQL has no such operator on text.
    /// </summary>
    public static async Task<List<MetricSample>> SamplesAfterAsync(WriteScope s, string flagId, long afterId, CancellationToken ct)
    {
        var rows = await s.ListAsync<MetricStore.SampleRow>(s.Pick(
                sqlite: $"SELECT {MetricStore.Columns} FROM impact_metrics WHERE id > @afterId AND +flag_id = @flagId ORDER BY id",
                postgres: $"SELECT {MetricStore.Columns} FROM impact_metrics WHERE id > @afterId AND flag_id = @flagId ORDER BY id"),
            new { flagId, afterId }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>
    /// The newest <paramref name="max"/> samples of a flag, newest first, for a window rebuild: the index
    /// (flag_id, timestamp, id) walked backwards gives the order, so there is no sort.
    /// </summary>
    public static async Task<List<MetricSample>> NewestSamplesAsync(WriteScope s, string flagId, int max, CancellationToken ct)
    {
        var rows = await s.ListAsync<MetricStore.SampleRow>(
            $"SELECT {MetricStore.Columns} FROM impact_metrics WHERE flag_id = @flagId ORDER BY timestamp DESC, id DESC LIMIT @max",
            new { flagId, max }, ct);
        return rows.Known(r => r.ToSample());
    }

    /// <summary>Every flag id, by name (for an on-demand pass over all flags).</summary>
    public static Task<List<string>> FlagIdsAsync(WriteScope s, CancellationToken ct) =>
        s.ListAsync<string>("SELECT id FROM feature_flags ORDER BY name", null, ct);
}
