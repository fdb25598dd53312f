using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Access;

/// <summary>SQL for <c>api_keys</c> and <c>api_key_events</c>, the one place that knows their columns.</summary>
internal static class ApiKeyStore
{
    /// <summary>The lock of a read-check-write over all keys (the first key, the last active admin).</summary>
    public static readonly WriteLock Lock = WriteLock.Named("api-keys");

    private const string Columns = "id, prefix, name, role, environment, created_by, created_at, last_used_at, revoked_at, secret_hash";

    private const string EventColumns = "id, key_id, action, actor_key_id, actor_name, timestamp";

    /// <summary>An <c>api_keys</c> row as stored (role as its wire name, times as Unix ms).</summary>
    private sealed class KeyRow
    {
        public string Id { get; set; } = "";
        public string Prefix { get; set; } = "";
        public string Name { get; set; } = "";
        public string Role { get; set; } = "";
        public string? Environment { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? LastUsedAt { get; set; }
        public long? RevokedAt { get; set; }
        public byte[] SecretHash { get; set; } = [];

        public StoredApiKey ToStored()
        {
            // a role this build does not know grants nothing, rather than defaulting to the first enum member
            if (!ApiRoles.TryParse(Role, out var role)) throw new InvalidDataException($"API key {Id} has an unknown role.");
            return new StoredApiKey(new ApiKey(Id, Prefix, Name, role, Environment, CreatedBy, Time.FromMs(CreatedAt), Time.FromMs(LastUsedAt),
                Time.FromMs(RevokedAt)), SecretHash);
        }
    }

    private sealed class EventRow
    {
        public string Id { get; set; } = "";
        public string KeyId { get; set; } = "";
        public string Action { get; set; } = "";
        public string? ActorKeyId { get; set; }
        public string ActorName { get; set; } = "";
        public long Timestamp { get; set; }

        public ApiKeyEvent ToEvent() => new(Id, KeyId, Action, ActorKeyId, ActorName, Time.FromMs(Timestamp));
    }

    public static async Task<List<StoredApiKey>> FindByPrefixAsync(DbConnection conn, string prefix, CancellationToken ct) =>
        (await conn.ListAsync<KeyRow>(null, $"SELECT {Columns} FROM api_keys WHERE prefix = @prefix", new { prefix }, ct)).ConvertAll(r => r.ToStored());

    public static async Task<StoredApiKey?> GetAsync(DbConnection conn, DbTransaction? tx, string id, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<KeyRow>(tx, $"SELECT {Columns} FROM api_keys WHERE id = @id", new { id }, ct))?.ToStored();

    /// <summary>Keys by id (ids sort by creation time), after the cursor.</summary>
    public static async Task<List<ApiKey>> ListAsync(DbConnection conn, string? after, int take, CancellationToken ct) =>
        (await conn.ListAsync<KeyRow>(null, $"SELECT {Columns} FROM api_keys WHERE (@after IS NULL OR id > @after) ORDER BY id LIMIT @take",
            new { after, take }, ct)).ConvertAll(r => r.ToStored().Key);

    public static async Task<long> CountAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        await conn.ScalarAsync<long>(tx, "SELECT count(*) FROM api_keys", null, ct);

    /// <summary>Keys of a role that are not revoked (e.g. the admins left, before revoking one).</summary>
    public static async Task<long> CountActiveAsync(WriteScope s, ApiRole role, CancellationToken ct) =>
        await s.ScalarAsync<long>("SELECT count(*) FROM api_keys WHERE role = @role AND revoked_at IS NULL", new { role = role.ToWire() }, ct);

    public static Task InsertAsync(WriteScope s, StoredApiKey stored, CancellationToken ct)
    {
        var k = stored.Key;
        return s.ExecAsync($"""
            INSERT INTO api_keys({Columns})
            VALUES (@Id, @Prefix, @Name, @Role, @Environment, @CreatedBy, @CreatedAt, NULL, NULL, @SecretHash)
            """, new
            {
                k.Id, k.Prefix, k.Name, Role = k.Role.ToWire(), k.Environment, k.CreatedBy, CreatedAt = Time.ToMs(k.CreatedAt), stored.SecretHash,
            }, ct);
    }

    public static Task RevokeAsync(WriteScope s, string id, DateTimeOffset at, CancellationToken ct) =>
        s.ExecAsync("UPDATE api_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL", new { id, at = Time.ToMs(at) }, ct);

    public static Task TouchAsync(DbConnection conn, string id, DateTimeOffset at, CancellationToken ct) =>
        conn.ExecAsync(null, "UPDATE api_keys SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)",
            new { id, at = Time.ToMs(at) }, ct);

    public static Task AppendEventAsync(WriteScope s, ApiKeyEvent e, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO api_key_events({EventColumns}) VALUES (@Id, @KeyId, @Action, @ActorKeyId, @ActorName, @Timestamp)",
            new { e.Id, e.KeyId, e.Action, e.ActorKeyId, e.ActorName, Timestamp = Time.ToMs(e.Timestamp) }, ct);

    public static async Task<List<ApiKeyEvent>> ListEventsAsync(DbConnection conn, string? after, int take, CancellationToken ct) =>
        (await conn.ListAsync<EventRow>(null, $"""
            SELECT {EventColumns} FROM api_key_events
            WHERE (@after IS NULL OR id < @after) ORDER BY id DESC LIMIT @take
            """, new { after, take }, ct)).ConvertAll(r => r.ToEvent());
}
