using System.Data.Common;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.ChangeRequests;

/// <summary>The states of a change request: pending, then exactly one decision.</summary>
public static class ChangeRequestStates
{
    public const string Pending = "pending";
    public const string Applied = "applied";
    public const string Rejected = "rejected";
    public const string Cancelled = "cancelled";
    public const string Conflicted = "conflicted";
    public static readonly IReadOnlyList<string> All = [Pending, Applied, Rejected, Cancelled, Conflicted];
}

/// <summary>SQL for <c>change_requests</c>, the one place that knows its columns.</summary>
internal static class ChangeRequestStore
{
    private const string Columns =
        "id, environment, flag_id, flag_key, flag_name, target, patch, diff, base_version, changed_by, author_key_id, author_name, " +
        "author_role, author_environment, state, created_at, decided_at, decided_by_key_id, decided_by_name, comment, applied_change_id";

    /// <summary>A row as stored, with the author's role and scope, which the API does not show but an approval applies with.</summary>
    internal sealed class Row
    {
        public string Id { get; set; } = "";
        public string Environment { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string FlagKey { get; set; } = "";
        public string FlagName { get; set; } = "";
        public string Target { get; set; } = "";
        public string Patch { get; set; } = "{}";
        public string Diff { get; set; } = "[]";
        public long BaseVersion { get; set; }
        public string ChangedBy { get; set; } = "";
        public string? AuthorKeyId { get; set; }
        public string AuthorName { get; set; } = "";
        public string AuthorRole { get; set; } = "";
        public string? AuthorEnvironment { get; set; }
        public string State { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? DecidedAt { get; set; }
        public string? DecidedByKeyId { get; set; }
        public string? DecidedByName { get; set; }
        public string? Comment { get; set; }
        public string? AppliedChangeId { get; set; }

        public Actor Author => new(AuthorKeyId, AuthorName, AuthorRole) { Environment = AuthorEnvironment };

        public ChangeRequest ToResource() => new()
        {
            Id = Id, State = State, Environment = Environment, Flag = new ChangeRequestFlag(FlagId, FlagKey, FlagName),
            Diff = Json.Deserialize<List<FieldChange>>(Diff) ?? [], Patch = JsonDocument.Parse(Patch).RootElement.Clone(),
            BaseVersion = BaseVersion, Author = new ChangeRequestActor(AuthorKeyId, AuthorName), ChangedBy = ChangedBy,
            CreatedAt = Time.FromMs(CreatedAt), DecidedAt = DecidedAt is { } d ? Time.FromMs(d) : null,
            DecidedBy = DecidedByName is null ? null : new ChangeRequestActor(DecidedByKeyId, DecidedByName),
            Comment = Comment, AppliedChangeId = AppliedChangeId,
        };
    }

    public static Task InsertAsync(WriteScope s, Row r, CancellationToken ct) =>
        s.ExecAsync($"""
            INSERT INTO change_requests({Columns}) VALUES (@Id, @Environment, @FlagId, @FlagKey, @FlagName, @Target, @Patch, @Diff,
                @BaseVersion, @ChangedBy, @AuthorKeyId, @AuthorName, @AuthorRole, @AuthorEnvironment, @State, @CreatedAt, @DecidedAt,
                @DecidedByKeyId, @DecidedByName, @Comment, @AppliedChangeId)
            """, r, ct);

    public static Task<Row?> GetAsync(DbConnection conn, DbTransaction? tx, string id, CancellationToken ct) =>
        conn.FirstOrDefaultAsync<Row>(tx, $"SELECT {Columns} FROM change_requests WHERE id = @id", new { id }, ct);

    /// <summary>
    /// Decides a pending request; false when it is no longer pending (another decision committed first), so two deciders
    /// cannot both win whatever the store's isolation.
    /// </summary>
    public static async Task<bool> DecideAsync(WriteScope s, string id, string state, Actor? by, string? comment, string? appliedChangeId,
        DateTimeOffset at, CancellationToken ct) =>
        await s.ExecAsync("""
            UPDATE change_requests SET state = @state, decided_at = @at, decided_by_key_id = @keyId, decided_by_name = @name,
                comment = @comment, applied_change_id = @appliedChangeId
            WHERE id = @id AND state = 'pending'
            """, new { id, state, at = Time.ToMs(at), keyId = by?.KeyId, name = by?.Name ?? "server", comment, appliedChangeId }, ct) == 1;



    /// <summary>The oldest pending request of <paramref name="target"/> for a flag in an environment, if any.</summary>
    public static Task<Row?> PendingAsync(WriteScope s, string environment, string flagId, string target, CancellationToken ct) =>
        s.Connection.FirstOrDefaultAsync<Row>(s.Transaction, $"""
            SELECT {Columns} FROM change_requests
            WHERE environment = @environment AND flag_id = @flagId AND target = @target AND state = 'pending' ORDER BY id LIMIT 1
            """, new { environment, flagId, target }, ct);

    /// <summary>Newest first; keyset on id (ids sort by creation time).</summary>
    public static async Task<List<ChangeRequest>> ListAsync(DbConnection conn, ChangeRequestFilter f, string? beforeId, int take, CancellationToken ct) =>
        (await conn.ListAsync<Row>(null, $"""
            SELECT {Columns} FROM change_requests
            WHERE (@state IS NULL OR state = @state)
              AND (@env IS NULL OR environment = @env)
              AND (@flag IS NULL OR flag_id = @flag)
              AND (@before IS NULL OR id < @before)
            ORDER BY id DESC LIMIT @take
            """, new { state = f.State, env = f.Environment, flag = f.FlagId, before = beforeId, take }, ct)).ConvertAll(r => r.ToResource());
}

/// <summary>The list's filters; null = any.</summary>
public sealed record ChangeRequestFilter(string? State, string? Environment, string? FlagId);
