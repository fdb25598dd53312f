using System.Data.Common;
using System.Text.Json;
using Dapper;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// SQL for <c>feature_flags</c> and <c>flag_changes</c>, the one place that knows their columns; callers own
/// connections and transactions. Rows are read by column name into <see cref="FlagRow"/> / <see cref="ChangeRow"/>.
/// </summary>
public static class FlagStore
{
    private const string FlagColumns =
        "id, name, description, enabled, rollout_percentage, target_environment, owner, tags, auto_rollback, variants, rules, created_at, updated_at, version, "
        + "flag_key, default_variant, off_variant, targeting";

    private const string FlagValues =
        "@Id, @Name, @Description, @Enabled, @RolloutPercentage, @TargetEnvironment, @Owner, @Tags, @AutoRollback, @Variants, @Rules, @CreatedAt, @UpdatedAt, @Version, "
        + "@FlagKey, @DefaultVariant, @OffVariant, @Targeting";

    private const string InsertedChangeColumns =
        "id, flag_id, flag_name, change_type, previous_value, new_value, changed_by, environment, timestamp, prediction_id, reason, actor_key_id, actor_name, approved_by";

    // the revision is not inserted: the change feed stamps it as the transaction's last statement (ChangeFeed)
    private const string ChangeColumns = InsertedChangeColumns + ", revision";

    private const string ChangeValues =
        "@Id, @FlagId, @FlagName, @ChangeType, @PreviousValue, @NewValue, @ChangedBy, @Environment, @Timestamp, @PredictionId, @Reason, @ActorKeyId, @ActorName, @ApprovedBy";

    /// <summary>A <c>feature_flags</c> row as stored (JSON as text, times as Unix ms).</summary>
    private sealed class FlagRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string Description { get; set; } = "";
        public bool Enabled { get; set; }
        public double RolloutPercentage { get; set; }
        public string TargetEnvironment { get; set; } = "";
        public string Owner { get; set; } = "";
        public string Tags { get; set; } = "[]";
        public bool AutoRollback { get; set; }
        public string? Variants { get; set; }
        public string? Rules { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public long Version { get; set; }
        public string? FlagKey { get; set; }
        public string? DefaultVariant { get; set; }
        public string? OffVariant { get; set; }
        public string? Targeting { get; set; }

        public static FlagRow From(Flag f) => new()
        {
            Id = f.Id, Name = f.Name, Description = f.Description, Enabled = f.Enabled, RolloutPercentage = f.RolloutPercentage,
            TargetEnvironment = f.TargetEnvironment, Owner = f.Owner, Tags = Json.Serialize(f.Tags), AutoRollback = f.AutoRollback,
            Variants = RawJson(f.Variants), Rules = RawJson(f.Rules), CreatedAt = Time.ToMs(f.CreatedAt), UpdatedAt = Time.ToMs(f.UpdatedAt),
            Version = f.Version, FlagKey = f.Key.Length > 0 ? f.Key : f.Name, DefaultVariant = f.DefaultVariant, OffVariant = f.OffVariant,
            Targeting = RawJson(f.Targeting),
        };

        public Flag ToFlag() => new()
        {
            Id = Id, Name = Name, Description = Description, Enabled = Enabled, RolloutPercentage = RolloutPercentage,
            TargetEnvironment = TargetEnvironment, Owner = Owner, Tags = Json.Deserialize<List<string>>(Tags) ?? [], AutoRollback = AutoRollback,
            Variants = ParseJson(Variants) ?? FlagVariants.Default, Rules = ParseJson(Rules),
            CreatedAt = Time.FromMs(CreatedAt), UpdatedAt = Time.FromMs(UpdatedAt), Version = Version,
            Key = FlagKey ?? Name, DefaultVariant = DefaultVariant ?? FlagVariants.On, OffVariant = OffVariant ?? FlagVariants.Off,
            Targeting = ParseJson(Targeting),
        };
    }

    /// <summary>A <c>flag_changes</c> row as stored.</summary>
    private sealed class ChangeRow
    {
        public string Id { get; set; } = "";
        public string FlagId { get; set; } = "";
        public string FlagName { get; set; } = "";
        public string ChangeType { get; set; } = "";
        public string? PreviousValue { get; set; }
        public string? NewValue { get; set; }
        public string ChangedBy { get; set; } = "";
        public string Environment { get; set; } = "";
        public long Timestamp { get; set; }
        public string? PredictionId { get; set; }
        public string? Reason { get; set; }
        public string? ActorKeyId { get; set; }
        public string? ActorName { get; set; }
        public string? ApprovedBy { get; set; }
        public long? Revision { get; set; }

        public static ChangeRow From(FlagChange c) => new()
        {
            Id = c.Id, FlagId = c.FlagId, FlagName = c.FlagName, ChangeType = c.ChangeType.ToWire(), PreviousValue = RawJson(c.PreviousValue),
            NewValue = RawJson(c.NewValue), ChangedBy = c.ChangedBy, Environment = c.Environment, Timestamp = Time.ToMs(c.Timestamp),
            PredictionId = c.PredictionId, Reason = c.Reason, ActorKeyId = c.ActorKeyId, ActorName = c.ActorName, ApprovedBy = c.ApprovedBy,
        };

        /// <summary>Null when the change type is a word this build does not know (<see cref="StoredWords"/>).</summary>
        public FlagChange? ToChange() => !StoredWords.TryRead<ChangeType>("flag_changes", "change_type", Id, ChangeType, out var type) ? null : new()
        {
            Id = Id, FlagId = FlagId, FlagName = FlagName, ChangeType = type, PreviousValue = ParseJson(PreviousValue),
            NewValue = ParseJson(NewValue), ChangedBy = ChangedBy, Environment = Environment, Timestamp = Time.FromMs(Timestamp),
            PredictionId = PredictionId, Reason = Reason, ActorKeyId = ActorKeyId, ActorName = ActorName, ApprovedBy = ApprovedBy, Revision = Revision ?? 0,
        };
    }

    /// <summary>The flag whose id is <c>@flagId</c>, as one statement of a caller's batch; <see cref="ReadFlagAsync"/> reads its result.</summary>
    public const string FlagByIdSql = $"SELECT {FlagColumns} FROM feature_flags WHERE id = @flagId";

    /// <summary>Reads the result of <see cref="FlagByIdSql"/> from a batch.</summary>
    public static async Task<Flag?> ReadFlagAsync(SqlMapper.GridReader batch) => (await batch.ReadFirstOrDefaultAsync<FlagRow>())?.ToFlag();

    public static async Task<Flag?> FindAsync(DbConnection conn, DbTransaction? tx, string idOrName, CancellationToken ct) =>
        // an id wins over a name that equals it (one stored before such names were refused): OR has no order of its own
        (await conn.FirstOrDefaultAsync<FlagRow>(tx,
            $"SELECT {FlagColumns} FROM feature_flags WHERE id = @k OR name = @k ORDER BY CASE WHEN id = @k THEN 0 ELSE 1 END LIMIT 1",
            new { k = idOrName }, ct))?.ToFlag();

    /// <summary>
    /// The flag an id or name names, for a write transaction begun with <see cref="WriteLock.None"/>: takes the flag's
    /// lock and reads it again by id, since a writer that held the lock may have changed or deleted it meanwhile.
    /// Null (and no lock taken) when there is no such flag.
    /// </summary>
    public static async Task<Flag?> FindForWriteAsync(WriteScope s, string idOrName, CancellationToken ct) =>
        await LockAndReloadAsync(s, await FindAsync(s.Connection, s.Transaction, idOrName, ct), ct);

    /// <summary><see cref="FindForWriteAsync"/> for a flag the caller found some other way.</summary>
    public static async Task<Flag?> LockAndReloadAsync(WriteScope s, Flag? seen, CancellationToken ct)
    {
        if (seen is null) return null;
        await s.LockAsync(WriteLock.Flag(seen.Id), ct);
        // SQLite's write transaction excluded every other writer from its start: what it read is still so
        return s.Provider == DbProvider.Sqlite ? seen : await FindAsync(s.Connection, s.Transaction, seen.Id, ct);
    }

    public static async Task<bool> NameTakenAsync(DbConnection conn, DbTransaction? tx, string name, string? exceptId, CancellationToken ct) =>
        await conn.ScalarAsync<int?>(tx, "SELECT 1 FROM feature_flags WHERE name = @name AND (@exceptId IS NULL OR id <> @exceptId)",
            new { name, exceptId }, ct) is not null;

    public static async Task<bool> KeyTakenAsync(DbConnection conn, DbTransaction? tx, string key, string? exceptId, CancellationToken ct) =>
        await conn.ScalarAsync<int?>(tx, "SELECT 1 FROM feature_flags WHERE flag_key = @key AND (@exceptId IS NULL OR id <> @exceptId)",
            new { key, exceptId }, ct) is not null;

    /// <summary>The flag an OpenFeature key names (flagd import matches flags by key).</summary>
    public static async Task<Flag?> FindByKeyAsync(DbConnection conn, DbTransaction? tx, string key, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<FlagRow>(tx, $"SELECT {FlagColumns} FROM feature_flags WHERE flag_key = @key LIMIT 1", new { key }, ct))?.ToFlag();

    public sealed record FlagFilter(string? Environment, bool? Enabled, string? Owner, string? Tag, string? Search);

    /// <summary>Flags by name; keyset on name. The tag and search filters are the two places the stores' SQL differs.</summary>
    public static async Task<List<Flag>> ListAsync(DbConnection conn, FlagFilter filter, string? afterName, int take, CancellationToken ct)
    {
        var (hasTag, search) = conn.Pick(
            sqlite: ("EXISTS (SELECT 1 FROM json_each(feature_flags.tags) WHERE json_each.value = @tag)",
                     "instr(name, @q) > 0 OR instr(lower(description), @q) > 0"),
            postgres: ("EXISTS (SELECT 1 FROM jsonb_array_elements_text(feature_flags.tags::jsonb) AS t(tag) WHERE t.tag = @tag)",
                       "strpos(name, @q) > 0 OR strpos(lower(description), @q) > 0"));
        var rows = await conn.ListAsync<FlagRow>(null, $"""
            SELECT {FlagColumns} FROM feature_flags
            WHERE (@env IS NULL OR target_environment = @env)
              AND (@enabled IS NULL OR enabled = @enabled)
              AND (@owner IS NULL OR owner = @owner)
              AND (@tag IS NULL OR {hasTag})
              AND (@q IS NULL OR {search})
              AND (@after IS NULL OR name > @after)
            ORDER BY name LIMIT @take
            """, new
            {
                env = filter.Environment, enabled = filter.Enabled, owner = filter.Owner, tag = filter.Tag,
                q = filter.Search?.ToLowerInvariant(), after = afterName, take,
            }, ct);
        return rows.ConvertAll(r => r.ToFlag());
    }

    /// <summary>Every flag, for the evaluation snapshot.</summary>
    public static Task<List<Flag>> ListAllAsync(DbConnection conn, CancellationToken ct) => ListAllAsync(conn, null, ct);

    /// <summary>Every flag, inside the caller's read transaction (the snapshot reads them with the feed's revision).</summary>
    public static async Task<List<Flag>> ListAllAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        (await conn.ListAsync<FlagRow>(tx, $"SELECT {FlagColumns} FROM feature_flags", null, ct)).ConvertAll(r => r.ToFlag());

    public static Task InsertAsync(WriteScope s, Flag f, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO feature_flags({FlagColumns}) VALUES ({FlagValues})", FlagRow.From(f), ct);

    /// <summary>Writes the flag only if the stored version is still <paramref name="expectedVersion"/>.</summary>
    public static async Task<bool> UpdateAsync(WriteScope s, Flag f, long expectedVersion, CancellationToken ct)
    {
        var row = FlagRow.From(f);
        return await s.ExecAsync("""
            UPDATE feature_flags SET name = @Name, description = @Description, enabled = @Enabled, rollout_percentage = @RolloutPercentage,
                target_environment = @TargetEnvironment, owner = @Owner, tags = @Tags, auto_rollback = @AutoRollback, variants = @Variants,
                rules = @Rules, updated_at = @UpdatedAt, version = @Version,
                flag_key = @FlagKey, default_variant = @DefaultVariant, off_variant = @OffVariant, targeting = @Targeting
            WHERE id = @Id AND version = @Expected
            """, new
            {
                row.Id, row.Name, row.Description, row.Enabled, row.RolloutPercentage, row.TargetEnvironment, row.Owner, row.Tags,
                row.AutoRollback, row.Variants, row.Rules, row.UpdatedAt, row.Version, row.FlagKey, row.DefaultVariant, row.OffVariant,
                row.Targeting, Expected = expectedVersion,
            }, ct) == 1;
    }

    public static async Task<bool> DeleteAsync(WriteScope s, string id, long expectedVersion, CancellationToken ct) =>
        await s.ExecAsync("DELETE FROM feature_flags WHERE id = @id AND version = @expectedVersion",
            new { id, expectedVersion }, ct) == 1;

    public static Task InsertChangeAsync(WriteScope s, FlagChange c, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO flag_changes({InsertedChangeColumns}) VALUES ({ChangeValues})", ChangeRow.From(c), ct);

    public sealed record ChangeFilter(string? FlagId, ChangeType? ChangeType, string? Environment, DateTimeOffset? Since);

    /// <summary>Newest first; keyset on id.</summary>
    public static async Task<List<FlagChange>> ListChangesAsync(DbConnection conn, DbTransaction? tx, ChangeFilter filter,
        string? beforeId, int take, CancellationToken ct)
    {
        var rows = await conn.ListAsync<ChangeRow>(tx, $"""
            SELECT {ChangeColumns} FROM flag_changes
            WHERE (@flag IS NULL OR flag_id = @flag)
              AND (@type IS NULL OR change_type = @type)
              AND (@env IS NULL OR environment = @env)
              AND (@since IS NULL OR timestamp >= @since)
              AND (@before IS NULL OR id < @before)
            ORDER BY id DESC LIMIT @take
            """, new
            {
                flag = filter.FlagId, type = filter.ChangeType?.ToWire(), env = filter.Environment,
                since = filter.Since is { } since ? Time.ToMs(since) : (long?)null, before = beforeId, take,
            }, ct);
        return rows.Known(r => r.ToChange());
    }

    /// <summary>
    /// The change feed: changes after <paramref name="afterRevision"/> in revision order, filtered like the log (the
    /// environment is the one each change was logged in, so a scoped reader also sees its flags' deletions). Every committed change has its revision before anyone can read it, and revisions
    /// become visible in order, so a reader that continues from the last revision it saw misses nothing.
    /// </summary>
    public static async Task<List<FlagChange>> ListChangesAfterAsync(DbConnection conn, long afterRevision, ChangeFilter filter, int take,
        CancellationToken ct)
    {
        var rows = await conn.ListAsync<ChangeRow>(null, $"""
            SELECT {ChangeColumns} FROM flag_changes
            WHERE revision > @afterRevision
              AND (@flag IS NULL OR flag_id = @flag)
              AND (@type IS NULL OR change_type = @type)
              AND (@env IS NULL OR environment = @env)
            ORDER BY revision LIMIT @take
            """, new { afterRevision, flag = filter.FlagId, type = filter.ChangeType?.ToWire(), env = filter.Environment, take }, ct);
        return rows.Known(r => r.ToChange());
    }

    private static string? RawJson(JsonElement? e) =>
        e is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } v ? v.GetRawText() : null;

    private static JsonElement? ParseJson(string? s) => s is null ? null : JsonDocument.Parse(s).RootElement.Clone();
}
