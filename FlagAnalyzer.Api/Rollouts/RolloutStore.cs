using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>Rollout plans in <c>rollout_plans</c>: the newest row of a flag is its plan; older rows are its history.</summary>
public static class RolloutStore
{
    private const string Columns =
        "id, flag_id, stages, state, current_stage, started_at, stage_started_at, reason, created_by, created_at, updated_at, version";

    public static async Task<RolloutPlan?> CurrentAsync(SqliteConnection conn, SqliteTransaction? tx, string flagId, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {Columns} FROM rollout_plans WHERE flag_id = $f ORDER BY created_at DESC, id DESC LIMIT 1")
            .With("$f", flagId);
        return await cmd.FirstOrDefaultAsync(Read, ct);
    }

    /// <summary>Plans in the given states, oldest first (the guardian's work list, the dashboard's list).</summary>
    public static async Task<List<RolloutPlan>> InStatesAsync(SqliteConnection conn, SqliteTransaction? tx, IReadOnlyList<RolloutState> states,
        int limit, CancellationToken ct)
    {
        var names = states.Select((s, i) => ($"$s{i}", RolloutStates.Name(s))).ToList();
        await using var cmd = conn.Command(tx,
            $"SELECT {Columns} FROM rollout_plans WHERE state IN ({string.Join(", ", names.Select(n => n.Item1))}) ORDER BY created_at, id LIMIT $limit");
        foreach (var (p, v) in names) cmd.With(p, v);
        cmd.With("$limit", limit);
        return await cmd.ListAsync(Read, ct);
    }

    public static async Task InsertAsync(WriteScope s, RolloutPlan p, CancellationToken ct)
    {
        await using var cmd = s.Command($"INSERT INTO rollout_plans ({Columns}) VALUES ($id, $f, $stages, $state, $stage, $started, $stageStarted, $reason, $by, $created, $updated, $version)");
        Bind(cmd, p);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Writes <paramref name="p"/> if the stored row still has <paramref name="expectedVersion"/>.</summary>
    public static async Task<bool> UpdateAsync(WriteScope s, RolloutPlan p, long expectedVersion, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            UPDATE rollout_plans SET stages = $stages, state = $state, current_stage = $stage, started_at = $started,
                stage_started_at = $stageStarted, reason = $reason, updated_at = $updated, version = $version
            WHERE id = $id AND version = $expected
            """);
        Bind(cmd, p);
        cmd.With("$expected", expectedVersion);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void Bind(SqliteCommand cmd, RolloutPlan p) => cmd
        .With("$id", p.Id)
        .With("$f", p.FlagId)
        .With("$stages", Json.Serialize(p.Stages))
        .With("$state", RolloutStates.Name(p.State))
        .With("$stage", p.CurrentStage)
        .With("$started", p.StartedAt is { } a ? Time.ToMs(a) : null)
        .With("$stageStarted", p.StageStartedAt is { } b ? Time.ToMs(b) : null)
        .With("$reason", p.Reason)
        .With("$by", p.CreatedBy)
        .With("$created", Time.ToMs(p.CreatedAt))
        .With("$updated", Time.ToMs(p.UpdatedAt))
        .With("$version", p.Version);

    private static RolloutPlan Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        FlagId = r.GetString(1),
        Stages = Json.Deserialize<List<RolloutStage>>(r.GetString(2)) ?? [],
        State = RolloutStates.Parse(r.GetString(3)),
        CurrentStage = r.GetInt32(4),
        StartedAt = Time.FromMs(r.LongOrNull(5)),
        StageStartedAt = Time.FromMs(r.LongOrNull(6)),
        Reason = r.StringOrNull(7),
        CreatedBy = r.GetString(8),
        CreatedAt = Time.FromMs(r.GetInt64(9)),
        UpdatedAt = Time.FromMs(r.GetInt64(10)),
        Version = r.GetInt64(11),
    };
}
