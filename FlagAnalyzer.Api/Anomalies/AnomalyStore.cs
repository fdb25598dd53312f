using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Anomalies;

public static class AnomalyStore
{
    private const string Columns =
        "id, flag_id, type, severity, metric, baseline_value, observed_value, change_percent, confidence, p_value, message, status, detected_at, acknowledged_at, acknowledged_by, resolved_at, change_id";

    public static async Task InsertAsync(SqliteConnection conn, SqliteTransaction? tx, Anomaly a, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            INSERT INTO anomalies({Columns})
            VALUES ($id, $flag, $type, $sev, $metric, $base, $obs, $pct, $conf, $p, $msg, $status, $detected, $ackAt, $ackBy, $resolved, $change)
            """);
        Bind(cmd, a);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Writes the mutable part of an anomaly (status, severity, observation, times).</summary>
    public static async Task UpdateAsync(SqliteConnection conn, SqliteTransaction? tx, Anomaly a, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, """
            UPDATE anomalies SET severity = $sev, observed_value = $obs, change_percent = $pct, confidence = $conf, p_value = $p,
                message = $msg, status = $status, acknowledged_at = $ackAt, acknowledged_by = $ackBy, resolved_at = $resolved
            WHERE id = $id
            """);
        Bind(cmd, a);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static void Bind(SqliteCommand cmd, Anomaly a) => cmd
        .With("$id", a.Id).With("$flag", a.FlagId).With("$type", a.Type).With("$sev", a.Severity).With("$metric", a.Metric)
        .With("$base", a.BaselineValue).With("$obs", a.ObservedValue).With("$pct", a.ChangePercent)
        .With("$conf", a.Confidence).With("$p", a.PValue).With("$msg", a.Message).With("$status", a.Status)
        .With("$detected", Time.ToMs(a.DetectedAt))
        .With("$ackAt", a.AcknowledgedAt is { } ack ? Time.ToMs(ack) : null).With("$ackBy", a.AcknowledgedBy)
        .With("$resolved", a.ResolvedAt is { } res ? Time.ToMs(res) : null).With("$change", a.ChangeId);

    public static async Task<Anomaly?> GetAsync(SqliteConnection conn, SqliteTransaction? tx, string id, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {Columns} FROM anomalies WHERE id = $id").With("$id", id);
        return await cmd.FirstOrDefaultAsync(Read, ct);
    }

    /// <summary>Open (active or acknowledged) anomalies of one flag, or of all flags when flagId is null.</summary>
    public static async Task<List<Anomaly>> OpenAsync(SqliteConnection conn, SqliteTransaction? tx, string? flagId, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            SELECT {Columns} FROM anomalies
            WHERE status IN ($active, $acknowledged) AND ($flag IS NULL OR flag_id = $flag)
            ORDER BY id DESC
            """).With("$active", AnomalyStatuses.Active).With("$acknowledged", AnomalyStatuses.Acknowledged).With("$flag", flagId);
        return await cmd.ListAsync(Read, ct);
    }

    /// <summary>Newest first; keyset on id.</summary>
    public static async Task<List<Anomaly>> ListAsync(SqliteConnection conn, string? flagId, IReadOnlyCollection<string>? statuses,
        string? type, string? beforeId, int take, CancellationToken ct)
    {
        var statusFilter = statuses is { Count: > 0 }
            ? $"AND status IN ({string.Join(", ", statuses.Select((_, i) => "$s" + i))})"
            : "";
        await using var cmd = conn.Command(null, $"""
            SELECT {Columns} FROM anomalies
            WHERE ($flag IS NULL OR flag_id = $flag) AND ($type IS NULL OR type = $type) AND ($before IS NULL OR id < $before)
            {statusFilter}
            ORDER BY id DESC LIMIT $take
            """).With("$flag", flagId).With("$type", type).With("$before", beforeId).With("$take", take);
        var i = 0;
        foreach (var s in statuses ?? []) cmd.With("$s" + i++, s);
        return await cmd.ListAsync(Read, ct);
    }

    public static Anomaly Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        FlagId = r.GetString(1),
        Type = r.GetString(2),
        Severity = r.GetString(3),
        Metric = r.GetString(4),
        BaselineValue = r.GetDouble(5),
        ObservedValue = r.GetDouble(6),
        ChangePercent = r.GetDouble(7),
        Confidence = r.GetDouble(8),
        PValue = r.GetDouble(9),
        Message = r.GetString(10),
        Status = r.GetString(11),
        DetectedAt = Time.FromMs(r.GetInt64(12)),
        AcknowledgedAt = Time.FromMs(r.LongOrNull(13)),
        AcknowledgedBy = r.StringOrNull(14),
        ResolvedAt = Time.FromMs(r.LongOrNull(15)),
        ChangeId = r.StringOrNull(16),
    };
}
