using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using System.Data.Common;

namespace FlagAnalyzer.Api.Rollouts;

[JsonConverter(typeof(JsonStringEnumConverter<ScheduleAction>))]
public enum ScheduleAction
{
    [JsonStringEnumMemberName("enable")] Enable,
    [JsonStringEnumMemberName("disable")] Disable,
    [JsonStringEnumMemberName("set_rollout")] SetRollout,
    [JsonStringEnumMemberName("start_rollout")] StartRollout,
}

/// <summary>A flag change due at <see cref="At"/>. <see cref="FiredAt"/> is set once, by the replica that claimed it.</summary>
public sealed record FlagSchedule
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    /// <summary>The environment whose configuration the schedule changes (issue 26).</summary>
    public string Environment { get; init; } = "";
    public ScheduleAction Action { get; init; }
    /// <summary>For <see cref="ScheduleAction.SetRollout"/>.</summary>
    public double? RolloutPercentage { get; init; }
    public DateTimeOffset At { get; init; }
    public string CreatedBy { get; init; } = "api";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? FiredAt { get; init; }
    /// <summary>What firing did: the change it made, or why it made none.</summary>
    public string? Outcome { get; init; }
    /// <summary>
    /// How the schedule was let into a protected environment (issue 27): <c>change request {id} approved by {name}</c>,
    /// or <c>bypass by {admin}</c>; null when its environment was not protected when it was stored. A schedule without one
    /// does not fire in an environment that has become protected since.
    /// </summary>
    public string? Approval { get; init; }
}

public static class ScheduleActions
{
    public static string Name(ScheduleAction a) => WireNames<ScheduleAction>.Name(a);

    public static ScheduleAction? Parse(string? s) => WireNames<ScheduleAction>.TryParse(s, out var a) ? a : null;
}

/// <summary>
/// <c>flag_schedules</c>, the one place that knows its columns (<see cref="ScheduleRow"/>). <see cref="ClaimAsync"/> is the
/// once-only guarantee (a row claim, no leader lease).
/// </summary>
public static class ScheduleStore
{
    private const string Columns = "id, flag_id, action, rollout_percentage, run_at, created_by, created_at, fired_at, outcome, environment, approval";

    /// <summary>A <c>flag_schedules</c> row as stored (action as its name, times as Unix ms).</summary>
    private sealed class ScheduleRow
    {
        public string Id { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string Action { get; set; } = "";
        public double? RolloutPercentage { get; set; }
        public long RunAt { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? FiredAt { get; set; }
        public string? Outcome { get; set; }
        public string Environment { get; set; } = "";
        public string? Approval { get; set; }

        public FlagSchedule ToSchedule() => new()
        {
            Id = Id,
            FlagId = FlagId,
            Environment = Environment,
            Action = ScheduleActions.Parse(Action) ?? throw new InvalidOperationException($"Unknown schedule action '{Action}'."),
            RolloutPercentage = RolloutPercentage,
            At = Time.FromMs(RunAt),
            CreatedBy = CreatedBy,
            CreatedAt = Time.FromMs(CreatedAt),
            FiredAt = Time.FromMs(FiredAt),
            Outcome = Outcome,
            Approval = Approval,
        };
    }

    public static Task InsertAsync(WriteScope s, FlagSchedule x, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO flag_schedules ({Columns}) VALUES (@Id, @FlagId, @Action, @RolloutPercentage, @RunAt, @CreatedBy, @CreatedAt, NULL, NULL, @Environment, @Approval)",
            new
            {
                x.Id, x.FlagId, x.Environment, Action = ScheduleActions.Name(x.Action), x.RolloutPercentage, RunAt = Time.ToMs(x.At), x.CreatedBy,
                CreatedAt = Time.ToMs(x.CreatedAt), x.Approval,
            }, ct);

    /// <summary>The flag's schedules in one environment.</summary>
    public static async Task<List<FlagSchedule>> ForFlagAsync(DbConnection conn, string flagId, string environment, CancellationToken ct) =>
        (await conn.ListAsync<ScheduleRow>(null,
            $"SELECT {Columns} FROM flag_schedules WHERE flag_id = @flagId AND environment = @environment ORDER BY run_at, id LIMIT 500",
            new { flagId, environment }, ct)).ConvertAll(r => r.ToSchedule());

    public static async Task<List<FlagSchedule>> DueAsync(DbConnection conn, DateTimeOffset now, int limit, CancellationToken ct) =>
        (await conn.ListAsync<ScheduleRow>(null,
            $"SELECT {Columns} FROM flag_schedules WHERE fired_at IS NULL AND run_at <= @now ORDER BY run_at, id LIMIT @limit",
            new { now = Time.ToMs(now), limit }, ct)).ConvertAll(r => r.ToSchedule());

    /// <summary>
    /// The row claim: marks the schedule fired if nobody has, inside the transaction that applies it. Of two replicas
    /// racing for one schedule, the second's UPDATE matches no row (both stores serialise write transactions: SQLite's
    /// write lock, PostgreSQL's advisory write lock), so it skips; a rolled-back transaction leaves the schedule unfired
    /// for the next tick.
    /// </summary>
    public static async Task<bool> ClaimAsync(WriteScope s, string id, DateTimeOffset now, CancellationToken ct) =>
        await s.ExecAsync("UPDATE flag_schedules SET fired_at = @now WHERE id = @id AND fired_at IS NULL", new { now = Time.ToMs(now), id }, ct) == 1;

    public static Task SetOutcomeAsync(WriteScope s, string id, string outcome, CancellationToken ct) =>
        s.ExecAsync("UPDATE flag_schedules SET outcome = @outcome WHERE id = @id", new { outcome, id }, ct);

    /// <summary>Deletes a schedule that has not fired; false when it fired already or does not exist.</summary>
    public static async Task<bool> DeletePendingAsync(WriteScope s, string flagId, string id, CancellationToken ct) =>
        await s.ExecAsync("DELETE FROM flag_schedules WHERE id = @id AND flag_id = @flagId AND fired_at IS NULL", new { id, flagId }, ct) == 1;

    public static async Task<FlagSchedule?> FindAsync(WriteScope s, string id, CancellationToken ct) =>
        (await s.FirstOrDefaultAsync<ScheduleRow>($"SELECT {Columns} FROM flag_schedules WHERE id = @id", new { id }, ct))?.ToSchedule();
}
