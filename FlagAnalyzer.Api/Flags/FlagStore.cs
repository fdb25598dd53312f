using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Flags;

/// <summary>SQL for <c>feature_flags</c> and <c>flag_changes</c>; callers own connections and transactions.</summary>
public static class FlagStore
{
    private const string FlagColumns =
        "id, name, description, enabled, rollout_percentage, target_environment, owner, tags, auto_rollback, variants, rules, created_at, updated_at, version, "
        + "flag_key, default_variant, off_variant, targeting";

    private const string ChangeColumns =
        "id, flag_id, flag_name, change_type, previous_value, new_value, changed_by, environment, timestamp, prediction_id, reason, actor_key_id, actor_name";

    public static async Task<Flag?> FindAsync(SqliteConnection conn, SqliteTransaction? tx, string idOrName, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {FlagColumns} FROM feature_flags WHERE id = $k OR name = $k LIMIT 1")
            .With("$k", idOrName);
        return await cmd.FirstOrDefaultAsync(ReadFlag, ct);
    }

    public static async Task<bool> NameTakenAsync(SqliteConnection conn, SqliteTransaction? tx, string name, string? exceptId, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, "SELECT 1 FROM feature_flags WHERE name = $n AND ($id IS NULL OR id <> $id)")
            .With("$n", name).With("$id", exceptId);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public static async Task<bool> KeyTakenAsync(SqliteConnection conn, SqliteTransaction? tx, string key, string? exceptId, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, "SELECT 1 FROM feature_flags WHERE flag_key = $k AND ($id IS NULL OR id <> $id)")
            .With("$k", key).With("$id", exceptId);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    /// <summary>The flag an OpenFeature key names (flagd import matches flags by key).</summary>
    public static async Task<Flag?> FindByKeyAsync(SqliteConnection conn, SqliteTransaction? tx, string key, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {FlagColumns} FROM feature_flags WHERE flag_key = $k LIMIT 1").With("$k", key);
        return await cmd.FirstOrDefaultAsync(ReadFlag, ct);
    }

    public sealed record FlagFilter(string? Environment, bool? Enabled, string? Owner, string? Tag, string? Search);

    /// <summary>Flags by name; keyset on name.</summary>
    public static async Task<List<Flag>> ListAsync(SqliteConnection conn, FlagFilter filter, string? afterName, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"""
            SELECT {FlagColumns} FROM feature_flags
            WHERE ($env IS NULL OR target_environment = $env)
              AND ($enabled IS NULL OR enabled = $enabled)
              AND ($owner IS NULL OR owner = $owner)
              AND ($tag IS NULL OR EXISTS (SELECT 1 FROM json_each(feature_flags.tags) WHERE json_each.value = $tag))
              AND ($q IS NULL OR instr(name, $q) > 0 OR instr(lower(description), $q) > 0)
              AND ($after IS NULL OR name > $after)
            ORDER BY name LIMIT $take
            """)
            .With("$env", filter.Environment).With("$enabled", filter.Enabled)
            .With("$owner", filter.Owner).With("$tag", filter.Tag).With("$q", filter.Search?.ToLowerInvariant())
            .With("$after", afterName).With("$take", take);
        return await cmd.ListAsync(ReadFlag, ct);
    }

    /// <summary>Every flag, for the evaluation snapshot.</summary>
    public static async Task<List<Flag>> ListAllAsync(SqliteConnection conn, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"SELECT {FlagColumns} FROM feature_flags");
        return await cmd.ListAsync(ReadFlag, ct);
    }

    public static async Task InsertAsync(WriteScope s, Flag f, CancellationToken ct)
    {
        await using var cmd = s.Command($"""
            INSERT INTO feature_flags({FlagColumns})
            VALUES ($id, $name, $desc, $enabled, $rollout, $env, $owner, $tags, $auto, $variants, $rules, $created, $updated, $version,
                    $key, $default_variant, $off_variant, $targeting)
            """);
        BindFlag(cmd, f);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Writes the flag only if the stored version is still <paramref name="expectedVersion"/>.</summary>
    public static async Task<bool> UpdateAsync(WriteScope s, Flag f, long expectedVersion, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            UPDATE feature_flags SET name = $name, description = $desc, enabled = $enabled, rollout_percentage = $rollout,
                target_environment = $env, owner = $owner, tags = $tags, auto_rollback = $auto, variants = $variants,
                rules = $rules, updated_at = $updated, version = $version,
                flag_key = $key, default_variant = $default_variant, off_variant = $off_variant, targeting = $targeting
            WHERE id = $id AND version = $expected
            """);
        BindFlag(cmd, f);
        cmd.With("$expected", expectedVersion);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public static async Task<bool> DeleteAsync(WriteScope s, string id, long expectedVersion, CancellationToken ct)
    {
        await using var cmd = s.Command("DELETE FROM feature_flags WHERE id = $id AND version = $v").With("$id", id).With("$v", expectedVersion);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static void BindFlag(SqliteCommand cmd, Flag f) => cmd
        .With("$id", f.Id).With("$name", f.Name).With("$desc", f.Description).With("$enabled", f.Enabled)
        .With("$rollout", f.RolloutPercentage).With("$env", f.TargetEnvironment).With("$owner", f.Owner)
        .With("$tags", Json.Serialize(f.Tags)).With("$auto", f.AutoRollback)
        .With("$variants", RawJson(f.Variants)).With("$rules", RawJson(f.Rules))
        .With("$key", f.Key.Length > 0 ? f.Key : f.Name).With("$default_variant", f.DefaultVariant).With("$off_variant", f.OffVariant)
        .With("$targeting", RawJson(f.Targeting))
        .With("$created", Time.ToMs(f.CreatedAt)).With("$updated", Time.ToMs(f.UpdatedAt)).With("$version", f.Version);

    public static async Task InsertChangeAsync(WriteScope s, FlagChange c, CancellationToken ct)
    {
        await using var cmd = s.Command($"""
            INSERT INTO flag_changes({ChangeColumns})
            VALUES ($id, $flag, $name, $type, $prev, $new, $by, $env, $ts, $pred, $reason, $actorKey, $actorName)
            """)
            .With("$id", c.Id).With("$flag", c.FlagId).With("$name", c.FlagName).With("$type", c.ChangeType)
            .With("$prev", RawJson(c.PreviousValue)).With("$new", RawJson(c.NewValue))
            .With("$by", c.ChangedBy).With("$env", c.Environment).With("$ts", Time.ToMs(c.Timestamp))
            .With("$pred", c.PredictionId).With("$reason", c.Reason).With("$actorKey", c.ActorKeyId).With("$actorName", c.ActorName);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public sealed record ChangeFilter(string? FlagId, string? ChangeType, string? Environment, DateTimeOffset? Since);

    /// <summary>Newest first; keyset on id.</summary>
    public static async Task<List<FlagChange>> ListChangesAsync(SqliteConnection conn, SqliteTransaction? tx, ChangeFilter filter,
        string? beforeId, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"""
            SELECT {ChangeColumns} FROM flag_changes
            WHERE ($flag IS NULL OR flag_id = $flag)
              AND ($type IS NULL OR change_type = $type)
              AND ($env IS NULL OR environment = $env)
              AND ($since IS NULL OR timestamp >= $since)
              AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $take
            """)
            .With("$flag", filter.FlagId).With("$type", filter.ChangeType).With("$env", filter.Environment)
            .With("$since", filter.Since is { } s ? Time.ToMs(s) : null).With("$before", beforeId).With("$take", take);
        return await cmd.ListAsync(ReadChange, ct);
    }

    private static string? RawJson(JsonElement? e) =>
        e is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } v ? v.GetRawText() : null;

    private static JsonElement? ParseJson(string? s) => s is null ? null : JsonDocument.Parse(s).RootElement.Clone();

    public static Flag ReadFlag(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = r.GetString(1),
        Description = r.GetString(2),
        Enabled = r.GetBoolean(3),
        RolloutPercentage = r.GetDouble(4),
        TargetEnvironment = r.GetString(5),
        Owner = r.GetString(6),
        Tags = Json.Deserialize<List<string>>(r.GetString(7)) ?? [],
        AutoRollback = r.GetBoolean(8),
        Variants = ParseJson(r.StringOrNull(9)) ?? FlagVariants.Default,
        Rules = ParseJson(r.StringOrNull(10)),
        CreatedAt = Time.FromMs(r.GetInt64(11)),
        UpdatedAt = Time.FromMs(r.GetInt64(12)),
        Version = r.GetInt64(13),
        Key = r.StringOrNull(14) ?? r.GetString(1),
        DefaultVariant = r.StringOrNull(15) ?? FlagVariants.On,
        OffVariant = r.StringOrNull(16) ?? FlagVariants.Off,
        Targeting = ParseJson(r.StringOrNull(17)),
    };

    public static FlagChange ReadChange(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        FlagId = r.GetString(1),
        FlagName = r.GetString(2),
        ChangeType = r.GetString(3),
        PreviousValue = ParseJson(r.StringOrNull(4)),
        NewValue = ParseJson(r.StringOrNull(5)),
        ChangedBy = r.GetString(6),
        Environment = r.GetString(7),
        Timestamp = Time.FromMs(r.GetInt64(8)),
        PredictionId = r.StringOrNull(9),
        Reason = r.StringOrNull(10),
        ActorKeyId = r.StringOrNull(11),
        ActorName = r.StringOrNull(12),
    };
}
