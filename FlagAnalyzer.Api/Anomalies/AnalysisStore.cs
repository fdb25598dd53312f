using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>The change a flag's analysis window is split around.</summary>
public sealed record Anchor(string ChangeId, string ChangeType, DateTimeOffset Timestamp, double? RolloutBefore = null, double? RolloutAfter = null);

/// <summary>SQL the detector needs beyond the metric and anomaly stores; callers own the transaction.</summary>
public static class AnalysisStore
{
    /// <summary>
    /// The latest change that alters what users get: enabling, disabling, rollout moves, rollbacks, and updates
    /// that touch variants, rules, targeting or the default/off variant. Renames and description edits do not restart the analysis.
    /// </summary>
    public static async Task<Anchor?> LatestAnchorAsync(WriteScope s, string flagId, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            SELECT id, change_type, timestamp,
                   CASE WHEN json_valid(previous_value) THEN json_extract(previous_value, '$.rolloutPercentage') END,
                   CASE WHEN json_valid(new_value) THEN json_extract(new_value, '$.rolloutPercentage') END
            FROM flag_changes
            WHERE flag_id = $f
              AND (change_type IN ($enabled, $disabled, $rollout, $rolledBack)
                   OR (change_type = $updated AND json_valid(new_value)
                       AND (json_type(new_value, '$.variants') IS NOT NULL OR json_type(new_value, '$.rules') IS NOT NULL
                            OR json_type(new_value, '$.targeting') IS NOT NULL OR json_type(new_value, '$.defaultVariant') IS NOT NULL
                            OR json_type(new_value, '$.offVariant') IS NOT NULL
                            OR json_type(new_value, '$.enabled') IS NOT NULL OR json_type(new_value, '$.rolloutPercentage') IS NOT NULL)))
            ORDER BY timestamp DESC, id DESC LIMIT 1
            """).With("$f", flagId).With("$enabled", ChangeTypes.Enabled).With("$disabled", ChangeTypes.Disabled)
            .With("$rollout", ChangeTypes.RolloutChanged).With("$rolledBack", ChangeTypes.RolledBack).With("$updated", ChangeTypes.Updated);
        return await cmd.FirstOrDefaultAsync(r => new Anchor(r.GetString(0), r.GetString(1), Time.FromMs(r.GetInt64(2)),
            r.IsDBNull(3) ? null : r.GetDouble(3), r.IsDBNull(4) ? null : r.GetDouble(4)), ct);
    }

    public static async Task<string?> ReadTokenAsync(WriteScope s, string flagId, CancellationToken ct)
    {
        await using var cmd = s.Command("SELECT token FROM analysis_windows WHERE flag_id = $f").With("$f", flagId);
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    public static async Task WriteTokenAsync(WriteScope s, string flagId, string token, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            INSERT INTO analysis_windows(flag_id, token) VALUES ($f, $t)
            ON CONFLICT(flag_id) DO UPDATE SET token = excluded.token
            """).With("$f", flagId).With("$t", token);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The flag's samples with an id above <paramref name="afterId"/>. New rows always get higher ids, so this
    /// walks the rowid range (the <c>+</c> keeps SQLite off the flag index, which would scan all the flag's rows).
    /// </summary>
    public static async Task<List<MetricSample>> SamplesAfterAsync(WriteScope s, string flagId, long afterId, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            SELECT id, flag_id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant
            FROM impact_metrics WHERE id > $after AND +flag_id = $f ORDER BY id
            """).With("$f", flagId).With("$after", afterId);
        return await cmd.ListAsync(MetricStore.Read, ct);
    }

    /// <summary>
    /// The newest <paramref name="max"/> samples of a flag, newest first, read lean for a window rebuild: the
    /// index (flag_id, timestamp, rowid) walked backwards gives the order, so there is no sort, and the flag id
    /// string is shared rather than read per row.
    /// </summary>
    public static List<MetricSample> NewestSamples(WriteScope s, string flagId, int max)
    {
        using var cmd = s.Command("""
            SELECT id, timestamp, cohort, error_rate, latency_p50, latency_p99, request_count, conversion_rate, user_satisfaction_score, variant
            FROM impact_metrics WHERE flag_id = $f ORDER BY timestamp DESC, id DESC LIMIT $max
            """).With("$f", flagId).With("$max", max);
        var list = new List<MetricSample>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new MetricSample
            {
                Id = r.GetInt64(0),
                FlagId = flagId,
                Timestamp = Time.FromMs(r.GetInt64(1)),
                Cohort = r.IsDBNull(2) ? null : r.GetString(2),
                ErrorRate = r.GetDouble(3),
                LatencyP50 = r.GetDouble(4),
                LatencyP99 = r.GetDouble(5),
                RequestCount = r.GetInt64(6),
                ConversionRate = r.IsDBNull(7) ? null : r.GetDouble(7),
                UserSatisfactionScore = r.IsDBNull(8) ? null : r.GetDouble(8),
                Variant = r.IsDBNull(9) ? null : r.GetString(9),
            });
        }
        return list;
    }

    /// <summary>Every flag id, by name (for an on-demand pass over all flags).</summary>
    public static async Task<List<string>> FlagIdsAsync(WriteScope s, CancellationToken ct)
    {
        await using var cmd = s.Command("SELECT id FROM feature_flags ORDER BY name");
        return await cmd.ListAsync(r => r.GetString(0), ct);
    }
}
