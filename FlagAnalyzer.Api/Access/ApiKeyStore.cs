using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Access;

/// <summary>SQL for <c>api_keys</c> and <c>api_key_events</c>.</summary>
internal static class ApiKeyStore
{
    private const string Columns = "id, prefix, name, role, environment, created_by, created_at, last_used_at, revoked_at, secret_hash";

    public static async Task<List<StoredApiKey>> FindByPrefixAsync(SqliteConnection conn, string prefix, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"SELECT {Columns} FROM api_keys WHERE prefix = $p").With("$p", prefix);
        return await cmd.ListAsync(Read, ct);
    }

    public static async Task<StoredApiKey?> GetAsync(SqliteConnection conn, SqliteTransaction? tx, string id, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, $"SELECT {Columns} FROM api_keys WHERE id = $id").With("$id", id);
        return await cmd.FirstOrDefaultAsync(Read, ct);
    }

    /// <summary>Keys by id (ids sort by creation time), after the cursor.</summary>
    public static async Task<List<ApiKey>> ListAsync(SqliteConnection conn, string? after, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, $"SELECT {Columns} FROM api_keys WHERE ($after IS NULL OR id > $after) ORDER BY id LIMIT $take")
            .With("$after", after).With("$take", take);
        return (await cmd.ListAsync(Read, ct)).Select(k => k.Key).ToList();
    }

    public static async Task<long> CountAsync(SqliteConnection conn, SqliteTransaction? tx, CancellationToken ct)
    {
        await using var cmd = conn.Command(tx, "SELECT count(*) FROM api_keys");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public static async Task InsertAsync(WriteScope s, StoredApiKey stored, CancellationToken ct)
    {
        var k = stored.Key;
        await using var cmd = s.Command("""
            INSERT INTO api_keys(id, prefix, secret_hash, name, role, environment, created_by, created_at, last_used_at, revoked_at)
            VALUES ($id, $prefix, $hash, $name, $role, $env, $by, $at, NULL, NULL)
            """).With("$id", k.Id).With("$prefix", k.Prefix).With("$hash", stored.SecretHash).With("$name", k.Name)
            .With("$role", k.Role.ToWire()).With("$env", k.Environment).With("$by", k.CreatedBy).With("$at", Time.ToMs(k.CreatedAt));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task RevokeAsync(WriteScope s, string id, DateTimeOffset at, CancellationToken ct)
    {
        await using var cmd = s.Command("UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL")
            .With("$id", id).With("$at", Time.ToMs(at));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task TouchAsync(SqliteConnection conn, string id, DateTimeOffset at, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, "UPDATE api_keys SET last_used_at = $at WHERE id = $id AND (last_used_at IS NULL OR last_used_at < $at)")
            .With("$id", id).With("$at", Time.ToMs(at));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task AppendEventAsync(WriteScope s, ApiKeyEvent e, CancellationToken ct)
    {
        await using var cmd = s.Command("""
            INSERT INTO api_key_events(id, key_id, action, actor_key_id, actor_name, timestamp) VALUES ($id, $key, $action, $actorKey, $actorName, $at)
            """).With("$id", e.Id).With("$key", e.KeyId).With("$action", e.Action).With("$actorKey", e.ActorKeyId)
            .With("$actorName", e.ActorName).With("$at", Time.ToMs(e.Timestamp));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<ApiKeyEvent>> ListEventsAsync(SqliteConnection conn, string? after, int take, CancellationToken ct)
    {
        await using var cmd = conn.Command(null, """
            SELECT id, key_id, action, actor_key_id, actor_name, timestamp FROM api_key_events
            WHERE ($after IS NULL OR id < $after) ORDER BY id DESC LIMIT $take
            """).With("$after", after).With("$take", take);
        return await cmd.ListAsync(r => new ApiKeyEvent(r.GetString(0), r.GetString(1), r.GetString(2), r.StringOrNull(3), r.GetString(4),
            Time.FromMs(r.GetInt64(5))), ct);
    }

    private static StoredApiKey Read(SqliteDataReader r)
    {
        // a role this build does not know grants nothing, rather than defaulting to the first enum member
        if (!ApiRoles.TryParse(r.GetString(3), out var role)) throw new InvalidDataException($"API key {r.GetString(0)} has an unknown role.");
        var key = new ApiKey(r.GetString(0), r.GetString(1), r.GetString(2), role, r.StringOrNull(4), r.GetString(5),
            Time.FromMs(r.GetInt64(6)), Time.FromMs(r.LongOrNull(7)), Time.FromMs(r.LongOrNull(8)));
        return new StoredApiKey(key, (byte[])r.GetValue(9));
    }
}
