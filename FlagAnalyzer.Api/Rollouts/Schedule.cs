using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

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
    public ScheduleAction Action { get; init; }
    /// <summary>For <see cref="ScheduleAction.SetRollout"/>.</summary>
    public double? RolloutPercentage { get; init; }
    public DateTimeOffset At { get; init; }
    public string CreatedBy { get; init; } = "api";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? FiredAt { get; init; }
    /// <summary>What firing did: the change it made, or why it made none.</summary>
    public string? Outcome { get; init; }
}

public static class ScheduleActions
{
    public static string Name(ScheduleAction a) => a switch
    {
        ScheduleAction.Enable => "enable",
        ScheduleAction.Disable => "disable",
        ScheduleAction.SetRollout => "set_rollout",
        _ => "start_rollout",
    };

    public static ScheduleAction? Parse(string? s) => s switch
    {
        "enable" => ScheduleAction.Enable,
        "disable" => ScheduleAction.Disable,
        "set_rollout" => ScheduleAction.SetRollout,
        "start_rollout" => ScheduleAction.StartRollout,
        _ => null,
    };
}

/// <summary><c>flag_schedules</c>. <see cref="ClaimAsync"/> is the once-only guarantee (a row claim, no leader lease).</summary>
public static class ScheduleStore
{
    private const string Columns = "id, flag_id, action, rollout_percentage, run_at, created_by, created_at, fired_at, outcome";

    public static async Task InsertAsync(WriteScope s, FlagSchedule x, CancellationToken ct)
    {
        await using var cmd = s.Command($"INSERT INTO flag_schedules ({Columns}) VALUES ($id, $f, $a, $p, $at, $by, $created, NULL, NULL)")
            .With("$id", x.Id).With("$f", x.FlagId).With("$a", ScheduleActions.Name(x.Action)).With("$p", x.RolloutPercentage)
            .With("$at", Time.ToMs(x.At)).With("$by", x.CreatedBy).With("$created", Time.ToMs(x.CreatedAt));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<FlagSchedule>> ForFlagAsync(SqliteConnection conn, string flagId, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"SELECT {Columns} FROM flag_schedules WHERE flag_id = $f ORDER BY run_at, id LIMIT 500").With("$f", flagId);
        return await cmd.ListAsync(Read, ct);
    }

    public static async Task<List<FlagSchedule>> DueAsync(SqliteConnection conn, DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"SELECT {Columns} FROM flag_schedules WHERE fired_at IS NULL AND run_at <= $now ORDER BY run_at, id LIMIT $limit")
            .With("$now", Time.ToMs(now)).With("$limit", limit);
        return await cmd.ListAsync(Read, ct);
    }

    /// <summary>
    /// The row claim: marks the schedule fired if nobody has, inside the transaction that applies it. Of two replicas
    /// racing for one schedule, the second's UPDATE matches no row (SQLite serialises the writers; on PostgreSQL the
    /// row lock does), so it skips; a rolled-back transaction leaves the schedule unfired for the next tick.
    /// </summary>
    public static async Task<bool> ClaimAsync(WriteScope s, string id, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = s.Command("UPDATE flag_schedules SET fired_at = $now WHERE id = $id AND fired_at IS NULL")
            .With("$now", Time.ToMs(now)).With("$id", id);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public static async Task SetOutcomeAsync(WriteScope s, string id, string outcome, CancellationToken ct)
    {
        await using var cmd = s.Command("UPDATE flag_schedules SET outcome = $o WHERE id = $id").With("$o", outcome).With("$id", id);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Deletes a schedule that has not fired; false when it fired already or does not exist.</summary>
    public static async Task<bool> DeletePendingAsync(WriteScope s, string flagId, string id, CancellationToken ct)
    {
        await using var cmd = s.Command("DELETE FROM flag_schedules WHERE id = $id AND flag_id = $f AND fired_at IS NULL").With("$id", id).With("$f", flagId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public static async Task<FlagSchedule?> FindAsync(WriteScope s, string id, CancellationToken ct)
    {
        await using var cmd = s.Command($"SELECT {Columns} FROM flag_schedules WHERE id = $id").With("$id", id);
        return await cmd.FirstOrDefaultAsync(Read, ct);
    }

    private static FlagSchedule Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        FlagId = r.GetString(1),
        Action = ScheduleActions.Parse(r.GetString(2)) ?? throw new InvalidOperationException($"Unknown schedule action '{r.GetString(2)}'."),
        RolloutPercentage = r.DoubleOrNull(3),
        At = Time.FromMs(r.GetInt64(4)),
        CreatedBy = r.GetString(5),
        CreatedAt = Time.FromMs(r.GetInt64(6)),
        FiredAt = Time.FromMs(r.LongOrNull(7)),
        Outcome = r.StringOrNull(8),
    };
}
