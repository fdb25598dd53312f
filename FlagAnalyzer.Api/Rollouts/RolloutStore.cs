using FlagAnalyzer.Api.Flags;
using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// Rollout plans in <c>rollout_plans</c>: the newest row of a flag is its plan; older rows are its history. The one
/// place that knows the table's columns (<see cref="PlanRow"/>).
/// </summary>
public static class RolloutStore
{
    private const string Columns =
        "id, flag_id, stages, state, current_stage, started_at, stage_started_at, reason, created_by, created_at, updated_at, version, guardrails, evidence_wait_factor, environment";

    private const string Values =
        "@Id, @FlagId, @Stages, @State, @CurrentStage, @StartedAt, @StageStartedAt, @Reason, @CreatedBy, @CreatedAt, @UpdatedAt, @Version, @Guardrails, @EvidenceWaitFactor, @Environment";

    /// <summary>A <c>rollout_plans</c> row as stored (stages as JSON, state as its name, times as Unix ms).</summary>
    private sealed class PlanRow
    {
        public string Id { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string Stages { get; set; } = "[]";
        public string State { get; set; } = "";
        public long CurrentStage { get; set; }
        public long? StartedAt { get; set; }
        public long? StageStartedAt { get; set; }
        public string? Reason { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public long Version { get; set; }
        /// <summary>JSON array of metric names; null for the default guardrails.</summary>
        public string? Guardrails { get; set; }
        public long? EvidenceWaitFactor { get; set; }
        public string Environment { get; set; } = "";

        public static PlanRow From(RolloutPlan p) => new()
        {
            Id = p.Id, FlagId = p.FlagId, Stages = Json.Serialize(p.Stages), State = RolloutStates.Name(p.State), CurrentStage = p.CurrentStage,
            StartedAt = p.StartedAt is { } a ? Time.ToMs(a) : null, StageStartedAt = p.StageStartedAt is { } b ? Time.ToMs(b) : null,
            Reason = p.Reason, CreatedBy = p.CreatedBy, CreatedAt = Time.ToMs(p.CreatedAt), UpdatedAt = Time.ToMs(p.UpdatedAt), Version = p.Version,
            Guardrails = p.Guardrails is { } g ? Json.Serialize(g) : null, EvidenceWaitFactor = p.EvidenceWaitFactor,
            Environment = p.Environment,
        };

        public RolloutPlan ToPlan() => new()
        {
            Id = Id, FlagId = FlagId, Stages = Json.Deserialize<List<RolloutStage>>(Stages) ?? [], State = RolloutStates.Parse(State),
            CurrentStage = checked((int)CurrentStage), StartedAt = Time.FromMs(StartedAt), StageStartedAt = Time.FromMs(StageStartedAt),
            Reason = Reason, CreatedBy = CreatedBy, CreatedAt = Time.FromMs(CreatedAt), UpdatedAt = Time.FromMs(UpdatedAt), Version = Version,
            Guardrails = Guardrails is { } g ? Json.Deserialize<List<string>>(g) : null, EvidenceWaitFactor = EvidenceWaitFactor is { } f ? checked((int)f) : null,
            Environment = Environment,
        };
    }

    /// <summary>The plan of the flag in <paramref name="environment"/>: its newest row there.</summary>
    public static async Task<RolloutPlan?> CurrentAsync(DbConnection conn, DbTransaction? tx, string flagId, string environment, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<PlanRow>(tx,
            $"SELECT {Columns} FROM rollout_plans WHERE flag_id = @flagId AND environment = @environment ORDER BY created_at DESC, id DESC LIMIT 1",
            new { flagId, environment }, ct))?.ToPlan();

    /// <summary>Plans in the given states, oldest first (the guardian's work list, the dashboard's list).</summary>
    /// <param name="scopeEnvironment">Only plans of this environment (a plan is of the environment it rolls out), so a scoped
    /// caller's page is full; null = all.</param>
    public static async Task<List<RolloutPlan>> InStatesAsync(DbConnection conn, DbTransaction? tx, IReadOnlyList<RolloutState> states,
        int limit, CancellationToken ct, string? scopeEnvironment = null)
    {
        // Dapper expands "IN @states" on SQLite; PostgreSQL takes the array as it is
        var inStates = conn.Pick("state IN @states", "state = ANY(@states)");
        var rows = await conn.ListAsync<PlanRow>(tx, $"SELECT {Columns} FROM rollout_plans WHERE {inStates} AND (@scopeEnvironment IS NULL OR environment = @scopeEnvironment) ORDER BY created_at, id LIMIT @limit",
            new { states = states.Select(RolloutStates.Name).ToArray(), limit, scopeEnvironment }, ct);
        return rows.ConvertAll(r => r.ToPlan());
    }

    public static Task InsertAsync(WriteScope s, RolloutPlan p, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO rollout_plans ({Columns}) VALUES ({Values})", PlanRow.From(p), ct);

    /// <summary>Writes <paramref name="p"/> if the stored row still has <paramref name="expectedVersion"/>.</summary>
    public static async Task<bool> UpdateAsync(WriteScope s, RolloutPlan p, long expectedVersion, CancellationToken ct)
    {
        var row = PlanRow.From(p);
        return await s.ExecAsync("""
            UPDATE rollout_plans SET stages = @Stages, state = @State, current_stage = @CurrentStage, started_at = @StartedAt,
                stage_started_at = @StageStartedAt, reason = @Reason, updated_at = @UpdatedAt, version = @Version,
                guardrails = @Guardrails, evidence_wait_factor = @EvidenceWaitFactor
            WHERE id = @Id AND version = @Expected
            """, new
            {
                row.Stages, row.State, row.CurrentStage, row.StartedAt, row.StageStartedAt, row.Reason, row.UpdatedAt, row.Version, row.Id, row.Guardrails, row.EvidenceWaitFactor,
                Expected = expectedVersion,
            }, ct) == 1;
    }
}
