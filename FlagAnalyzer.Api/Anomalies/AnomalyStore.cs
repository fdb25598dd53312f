using FlagAnalyzer.Api.Flags;
using System.Data.Common;
using Dapper;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>SQL for <c>anomalies</c>, the one place that knows its columns (<see cref="AnomalyRow"/>).</summary>
public static class AnomalyStore
{
    private const string Columns =
        "id, flag_id, type, severity, metric, baseline_value, observed_value, change_percent, confidence, p_value, message, status, detected_at, "
        + "acknowledged_at, acknowledged_by, resolved_at, change_id, variant, acknowledged_by_key_id, acknowledged_by_name, environment";

    private const string Values =
        "@Id, @FlagId, @Type, @Severity, @Metric, @BaselineValue, @ObservedValue, @ChangePercent, @Confidence, @PValue, @Message, @Status, @DetectedAt, "
        + "@AcknowledgedAt, @AcknowledgedBy, @ResolvedAt, @ChangeId, @Variant, @AcknowledgedByKeyId, @AcknowledgedByName, @Environment";

    /// <summary>An <c>anomalies</c> row as stored (times as Unix ms).</summary>
    private sealed class AnomalyRow
    {
        public string Id { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string Type { get; set; } = "";
        public string Severity { get; set; } = "";
        public string Metric { get; set; } = "";
        public double BaselineValue { get; set; }
        public double ObservedValue { get; set; }
        public double ChangePercent { get; set; }
        public double Confidence { get; set; }
        public double PValue { get; set; }
        public string Message { get; set; } = "";
        public string Status { get; set; } = "";
        public long DetectedAt { get; set; }
        public long? AcknowledgedAt { get; set; }
        public string? AcknowledgedBy { get; set; }
        public long? ResolvedAt { get; set; }
        public string? ChangeId { get; set; }
        public string? Variant { get; set; }
        public string? AcknowledgedByKeyId { get; set; }
        public string? AcknowledgedByName { get; set; }
        public string Environment { get; set; } = "";

        public static AnomalyRow From(Anomaly a) => new()
        {
            Id = a.Id, FlagId = a.FlagId, Type = a.Type.ToWire(), Severity = a.Severity.ToWire(), Metric = a.Metric, BaselineValue = a.BaselineValue,
            ObservedValue = a.ObservedValue, ChangePercent = a.ChangePercent, Confidence = a.Confidence, PValue = a.PValue,
            Message = a.Message, Status = a.Status.ToWire(), DetectedAt = Time.ToMs(a.DetectedAt),
            AcknowledgedAt = a.AcknowledgedAt is { } ack ? Time.ToMs(ack) : null, AcknowledgedBy = a.AcknowledgedBy,
            ResolvedAt = a.ResolvedAt is { } res ? Time.ToMs(res) : null, ChangeId = a.ChangeId, Variant = a.Variant,
            AcknowledgedByKeyId = a.ActorKeyId, AcknowledgedByName = a.ActorName, Environment = a.Environment,
        };

        /// <summary>Null when a closed-set column holds a word this build does not know (<see cref="StoredWords"/>).</summary>
        public Anomaly? ToAnomaly() =>
            !StoredWords.TryRead<AnomalyType>("anomalies", "type", Id, Type, out var type)
            || !StoredWords.TryRead<Severity>("anomalies", "severity", Id, Severity, out var severity)
            || !StoredWords.TryRead<AnomalyStatus>("anomalies", "status", Id, Status, out var status)
                ? null
                : new()
        {
            Id = Id, FlagId = FlagId, Type = type, Severity = severity, Metric = Metric, BaselineValue = BaselineValue,
            ObservedValue = ObservedValue, ChangePercent = ChangePercent, Confidence = Confidence, PValue = PValue, Message = Message,
            Status = status, DetectedAt = Time.FromMs(DetectedAt), AcknowledgedAt = Time.FromMs(AcknowledgedAt), AcknowledgedBy = AcknowledgedBy,
            ResolvedAt = Time.FromMs(ResolvedAt), ChangeId = ChangeId, Variant = Variant, ActorKeyId = AcknowledgedByKeyId,
            ActorName = AcknowledgedByName, Environment = Environment,
        };
    }

    public static Task InsertAsync(DbConnection conn, DbTransaction? tx, Anomaly a, CancellationToken ct) =>
        conn.ExecAsync(tx, $"INSERT INTO anomalies({Columns}) VALUES ({Values})", AnomalyRow.From(a), ct);

    /// <summary>Writes the mutable part of an anomaly (status, severity, observation, times).</summary>
    public static Task UpdateAsync(DbConnection conn, DbTransaction? tx, Anomaly a, CancellationToken ct) =>
        conn.ExecAsync(tx, """
            UPDATE anomalies SET severity = @Severity, observed_value = @ObservedValue, change_percent = @ChangePercent,
                confidence = @Confidence, p_value = @PValue, message = @Message, status = @Status, acknowledged_at = @AcknowledgedAt,
                acknowledged_by = @AcknowledgedBy, resolved_at = @ResolvedAt,
                acknowledged_by_key_id = @AcknowledgedByKeyId, acknowledged_by_name = @AcknowledgedByName
            WHERE id = @Id
            """, AnomalyRow.From(a), ct);

    public static async Task<Anomaly?> GetAsync(DbConnection conn, DbTransaction? tx, string id, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<AnomalyRow>(tx, $"SELECT {Columns} FROM anomalies WHERE id = @id", new { id }, ct))?.ToAnomaly();

    /// <summary>
    /// Open (active or acknowledged) anomalies of the flag <c>@flagId</c>, or of all flags when it is null, in the environment
    /// <c>@environment</c> or all when it is null, newest first; its parameters are <see cref="OpenParameters"/>. Also one
    /// statement of a caller's batch (<see cref="ReadAnomaliesAsync"/>).
    /// </summary>
    public const string OpenSql = $"""
        SELECT {Columns} FROM anomalies
        WHERE status IN (@active, @acknowledged) AND (@flagId IS NULL OR flag_id = @flagId) AND (@environment IS NULL OR environment = @environment)
        ORDER BY id DESC
        """;

    /// <summary>The parameters of <see cref="OpenSql"/>.</summary>
    public static object OpenParameters(string? flagId, string? environment = null) =>
        new { active = AnomalyStatus.Active.ToWire(), acknowledged = AnomalyStatus.Acknowledged.ToWire(), flagId, environment };

    /// <summary>Open (active or acknowledged) anomalies of one flag, or of all flags when flagId is null, in one environment or all.</summary>
    public static async Task<List<Anomaly>> OpenAsync(DbConnection conn, DbTransaction? tx, string? flagId, CancellationToken ct, string? environment = null) =>
        (await conn.ListAsync<AnomalyRow>(tx, OpenSql, OpenParameters(flagId, environment), ct)).Known(r => r.ToAnomaly());

    /// <summary>Reads the result of <see cref="OpenSql"/> from a batch.</summary>
    public static async Task<List<Anomaly>> ReadAnomaliesAsync(SqlMapper.GridReader batch) =>
        (await batch.ReadAsync<AnomalyRow>()).AsList().Known(r => r.ToAnomaly());

    /// <summary>Newest first; keyset on id.</summary>
    /// <param name="scopeEnvironment">Only anomalies of this environment (the caller's scope; issue 26: an anomaly is of the
    /// environment whose samples showed it); null = all.</param>
    /// <param name="environment">The list filter <c>?environment=</c>; null = all.</param>
    public static async Task<List<Anomaly>> ListAsync(DbConnection conn, string? flagId, IReadOnlyCollection<AnomalyStatus>? statuses,
        AnomalyType? type, string? beforeId, int take, CancellationToken ct, string? scopeEnvironment = null, string? environment = null)
    {
        // Dapper expands "IN @statuses" to one parameter per value on SQLite; PostgreSQL takes the array as it is
        var statusFilter = statuses is { Count: > 0 } ? conn.Pick("AND status IN @statuses", "AND status = ANY(@statuses)") : "";
        var rows = await conn.ListAsync<AnomalyRow>(null, $"""
            SELECT {Columns} FROM anomalies
            WHERE (@flagId IS NULL OR flag_id = @flagId) AND (@type IS NULL OR type = @type) AND (@before IS NULL OR id < @before)
              AND (@scopeEnvironment IS NULL OR environment = @scopeEnvironment) AND (@environment IS NULL OR environment = @environment)
            {statusFilter}
            ORDER BY id DESC LIMIT @take
            """, new { flagId, type = type?.ToWire(), before = beforeId, take, scopeEnvironment, environment, statuses = statuses?.Select(x => x.ToWire()).ToArray() ?? [] }, ct);
        return rows.Known(r => r.ToAnomaly());
    }
}
