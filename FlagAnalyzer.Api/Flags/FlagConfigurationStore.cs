using System.Data.Common;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// SQL for <c>flag_environments</c> (a flag's configuration per environment, issue 26), the one place that knows its
/// columns; callers own connections and transactions.
/// </summary>
public static class FlagConfigurationStore
{
    private const string Columns =
        "flag_id, environment, enabled, rollout_percentage, targeting, default_variant, off_variant, auto_rollback, version, updated_at";

    private const string Values =
        "@FlagId, @Environment, @Enabled, @RolloutPercentage, @Targeting, @DefaultVariant, @OffVariant, @AutoRollback, @Version, @UpdatedAt";

    private sealed class Row
    {
        public string FlagId { get; set; } = "";
        public string Environment { get; set; } = "";
        public bool Enabled { get; set; }
        public double RolloutPercentage { get; set; }
        public string? Targeting { get; set; }
        public string DefaultVariant { get; set; } = FlagVariants.On;
        public string OffVariant { get; set; } = FlagVariants.Off;
        public bool AutoRollback { get; set; }
        public long Version { get; set; }
        public long UpdatedAt { get; set; }

        public static Row From(string flagId, FlagConfiguration c) => new()
        {
            FlagId = flagId, Environment = c.Environment, Enabled = c.Enabled, RolloutPercentage = c.RolloutPercentage,
            Targeting = c.Targeting is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } t ? t.GetRawText() : null,
            DefaultVariant = c.DefaultVariant, OffVariant = c.OffVariant, AutoRollback = c.AutoRollback, Version = c.Version,
            UpdatedAt = Time.ToMs(c.UpdatedAt),
        };

        public FlagConfiguration ToConfiguration() => new()
        {
            Environment = Environment, Enabled = Enabled, RolloutPercentage = RolloutPercentage,
            Targeting = Targeting is null ? null : JsonDocument.Parse(Targeting).RootElement.Clone(),
            DefaultVariant = DefaultVariant, OffVariant = OffVariant, AutoRollback = AutoRollback, Version = Version,
            UpdatedAt = Time.FromMs(UpdatedAt),
        };
    }

    /// <summary>The flag's configurations, unordered (callers order them by the environments' promotion order).</summary>
    public static async Task<List<FlagConfiguration>> ListAsync(DbConnection conn, DbTransaction? tx, string flagId, CancellationToken ct) =>
        (await conn.ListAsync<Row>(tx, $"SELECT {Columns} FROM flag_environments WHERE flag_id = @flagId", new { flagId }, ct))
            .ConvertAll(r => r.ToConfiguration());

    public static async Task<FlagConfiguration?> GetAsync(DbConnection conn, DbTransaction? tx, string flagId, string environment, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<Row>(tx, $"SELECT {Columns} FROM flag_environments WHERE flag_id = @flagId AND environment = @environment",
            new { flagId, environment }, ct))?.ToConfiguration();

    /// <summary>Every configuration of one environment, by flag id.</summary>
    public static async Task<Dictionary<string, FlagConfiguration>> ListEnvironmentAsync(DbConnection conn, DbTransaction? tx, string environment,
        CancellationToken ct) =>
        (await conn.ListAsync<Row>(tx, $"SELECT {Columns} FROM flag_environments WHERE environment = @environment", new { environment }, ct))
            .ToDictionary(r => r.FlagId, r => r.ToConfiguration(), StringComparer.Ordinal);

    /// <summary>Every configuration of every flag, by flag id (the snapshot's full load, in its read transaction).</summary>
    public static async Task<Dictionary<string, List<FlagConfiguration>>> ListAllAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct)
    {
        var all = new Dictionary<string, List<FlagConfiguration>>(StringComparer.Ordinal);
        foreach (var r in await conn.ListAsync<Row>(tx, $"SELECT {Columns} FROM flag_environments", null, ct))
        {
            if (!all.TryGetValue(r.FlagId, out var list)) all[r.FlagId] = list = [];
            list.Add(r.ToConfiguration());
        }
        return all;
    }

    public static Task InsertAsync(WriteScope s, string flagId, FlagConfiguration c, CancellationToken ct) =>
        s.ExecAsync($"INSERT INTO flag_environments({Columns}) VALUES ({Values})", Row.From(flagId, c), ct);

    /// <summary>
    /// Writes the configuration, inserting it when the flag has none there yet (an environment created while the flag was being
    /// created), only if the stored version is still <paramref name="expectedVersion"/> (0: none stored).
    /// </summary>
    public static async Task<bool> WriteAsync(WriteScope s, string flagId, FlagConfiguration c, long expectedVersion, CancellationToken ct)
    {
        var row = Row.From(flagId, c);
        if (expectedVersion == 0)
            return await s.ExecAsync($"INSERT INTO flag_environments({Columns}) VALUES ({Values}) ON CONFLICT (flag_id, environment) DO NOTHING", row, ct) == 1;
        return await s.ExecAsync("""
            UPDATE flag_environments SET enabled = @Enabled, rollout_percentage = @RolloutPercentage, targeting = @Targeting,
                default_variant = @DefaultVariant, off_variant = @OffVariant, auto_rollback = @AutoRollback, version = @Version, updated_at = @UpdatedAt
            WHERE flag_id = @FlagId AND environment = @Environment AND version = @Expected
            """, new
            {
                row.FlagId, row.Environment, row.Enabled, row.RolloutPercentage, row.Targeting, row.DefaultVariant, row.OffVariant,
                row.AutoRollback, row.Version, row.UpdatedAt, Expected = expectedVersion,
            }, ct) == 1;
    }

    public static Task DeleteAllAsync(WriteScope s, string flagId, CancellationToken ct) =>
        s.ExecAsync("DELETE FROM flag_environments WHERE flag_id = @flagId", new { flagId }, ct);

    /// <summary>Every flag gets a disabled configuration in <paramref name="environment"/> (a new environment), serving its home's off variant.</summary>
    public static Task<int> ConfigureEveryFlagAsync(DbConnection conn, DbTransaction tx, string environment, DateTimeOffset now, CancellationToken ct) =>
        conn.ExecAsync(tx, $"""
            INSERT INTO flag_environments({Columns})
            SELECT f.id, @environment, {conn.Pick("0", "FALSE")}, 0, NULL, COALESCE(f.default_variant, 'on'), COALESCE(f.off_variant, 'off'), {conn.Pick("0", "FALSE")}, 1, @now
            FROM feature_flags f
            WHERE NOT EXISTS (SELECT 1 FROM flag_environments c WHERE c.flag_id = f.id AND c.environment = @environment)
            ON CONFLICT (flag_id, environment) DO NOTHING
            """, new { environment, now = Time.ToMs(now) }, ct);

    /// <summary>
    /// Flags stored without configurations (a database written by the release before issue 26, or rows lost to a race
    /// between an environment's creation and a flag's) get them: the home configuration from the flag's own columns, every
    /// other environment in <paramref name="environments"/> disabled. Idempotent; returns the rows written.
    /// </summary>
    public static async Task<int> BackfillAsync(DbConnection conn, DbTransaction tx, IEnumerable<string> environments, DateTimeOffset now,
        CancellationToken ct)
    {
        var written = await conn.ExecAsync(tx, $"""
            INSERT INTO flag_environments({Columns})
            SELECT f.id, f.target_environment, f.enabled, f.rollout_percentage, f.targeting, COALESCE(f.default_variant, 'on'),
                   COALESCE(f.off_variant, 'off'), f.auto_rollback, 1, f.updated_at
            FROM feature_flags f
            WHERE NOT EXISTS (SELECT 1 FROM flag_environments c WHERE c.flag_id = f.id AND c.environment = f.target_environment)
            ON CONFLICT (flag_id, environment) DO NOTHING
            """, null, ct);
        foreach (var environment in environments) written += await ConfigureEveryFlagAsync(conn, tx, environment, now, ct);
        return written;
    }
}
