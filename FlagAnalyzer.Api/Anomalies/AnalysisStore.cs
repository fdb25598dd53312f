using Dapper;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>What <see cref="AnalysisStore.ReadInputsAsync"/> read for one flag's detection pass; <c>Flag</c> is null when it no longer exists.</summary>
public sealed record DetectionInputs(Flag? Flag, Anchor? Anchor, string? CommittedToken, List<Anomaly> Open);

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
    /// The statement for the latest change that alters what users get: enabling, disabling, rollout moves, rollbacks, and updates
    /// that touch variants, rules, targeting or the default/off variant. Renames and description edits do not restart the analysis.
    /// The JSON functions differ: SQLite's json_extract/json_type, PostgreSQL's jsonb operators (a key that is present
    /// with a JSON null counts as present in both).
    /// </summary>
    private static string AnchorSql(WriteScope s) => s.Pick(
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

    private static object AnchorParameters => new
    {
        enabled = ChangeType.Enabled.ToWire(),
        disabled = ChangeType.Disabled.ToWire(),
        rollout = ChangeType.RolloutChanged.ToWire(),
        rolledBack = ChangeType.RolledBack.ToWire(),
        updated = ChangeType.Updated.ToWire(),
    };

    // the query matches known words only
    private static Anchor? ToAnchor(AnchorRow? row) =>
        row is null || !StoredWords.TryRead<ChangeType>("flag_changes", "change_type", row.Id, row.ChangeType, out var type) ? null
            : new Anchor(row.Id, type, Time.FromMs(row.Timestamp), row.RolloutBefore, row.RolloutAfter);

    /// <summary>The flag's window token as this transaction sees it (the last committed pass's), then <paramref name="newToken"/> in its place.</summary>
    private const string SwapTokenSql = """
        SELECT token FROM analysis_windows WHERE flag_id = @flagId;
        INSERT INTO analysis_windows(flag_id, token)
        SELECT @flagId, @newToken WHERE EXISTS (SELECT 1 FROM feature_flags WHERE id = @flagId)
        ON CONFLICT(flag_id) DO UPDATE SET token = excluded.token
        """;

    /// <summary>
    /// Everything a detection pass reads before it computes, in one batch (one round trip on PostgreSQL, where the write
    /// path's statements each cost one): the flag, the change its analysis is anchored on, its window token (read, then
    /// replaced by <paramref name="newToken"/>, see <see cref="FlagWindowCache"/>) and its open anomalies. A flag that no
    /// longer exists gets no token.
    /// </summary>
    public static async Task<DetectionInputs> ReadInputsAsync(WriteScope s, string flagId, string newToken, CancellationToken ct)
    {
        var parameters = new DynamicParameters(AnomalyStore.OpenParameters(flagId));
        parameters.AddDynamicParams(AnchorParameters);
        parameters.Add("newToken", newToken);
        var sql = string.Join(";\n", FlagStore.FlagByIdSql, AnchorSql(s), SwapTokenSql, AnomalyStore.OpenSql);
        await using var batch = await s.Connection.QueryMultipleAsync(new CommandDefinition(sql, parameters, s.Transaction, cancellationToken: ct));
        var flag = await FlagStore.ReadFlagAsync(batch);
        var anchor = ToAnchor(await batch.ReadFirstOrDefaultAsync<AnchorRow>());
        var committedToken = await batch.ReadFirstOrDefaultAsync<string>();
        var open = await AnomalyStore.ReadAnomaliesAsync(batch);
        return new DetectionInputs(flag, anchor, committedToken, open);
    }

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
