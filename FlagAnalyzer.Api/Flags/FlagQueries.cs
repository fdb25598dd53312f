using System.Data.Common;
using Dapper;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>The latest change that alters what users get (<see cref="FlagQueries.EffectiveChangeSql"/>): what an analysis is split around.</summary>
public sealed record EffectiveChange(string ChangeId, ChangeType ChangeType, DateTimeOffset Timestamp, double? RolloutBefore, double? RolloutAfter);

/// <summary>
/// What other folders ask of <c>feature_flags</c> and <c>flag_changes</c>. Each folder owns its tables (the layering test
/// checks the SQL text of every folder); the others ask here, on their own connection and transaction when the answer
/// must be the transaction's view.
/// </summary>
public static class FlagQueries
{
    /// <summary>
    /// The list filter of the environment rule (Common/FlagScope) for another folder's table keyed by <c>flag_id</c>: rows of
    /// flags stored in <c>@scopeEnvironment</c>, or every row when it is null; a row of a deleted flag is left out of a
    /// narrowed list. A subquery, so a page stays one statement; the rows do not carry their environment (yet).
    /// </summary>
    public const string FlagInScope =
        "(@scopeEnvironment IS NULL OR flag_id IN (SELECT id FROM feature_flags WHERE target_environment = @scopeEnvironment))";

    /// <summary>
    /// The id and stored environment of each flag id or name that names a flag, read in the caller's transaction (so a delete
    /// cannot slip between the check and the caller's insert).
    /// </summary>
    public static async Task<Dictionary<string, FlagRef>> ResolveAsync(DbConnection conn, DbTransaction? tx, IEnumerable<string> keys, CancellationToken ct)
    {
        var ids = new Dictionary<string, FlagRef>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var row = await conn.FirstOrDefaultAsync<FlagEnvironmentRow>(tx,
                "SELECT id, target_environment FROM feature_flags WHERE id = @key UNION ALL SELECT id, target_environment FROM feature_flags WHERE name = @key LIMIT 1",
                new { key }, ct);
            if (row is not null) ids[key] = new FlagRef(row.Id, row.TargetEnvironment);
        }
        return ids;
    }

    private sealed class FlagEnvironmentRow
    {
        public string Id { get; set; } = "";
        public string TargetEnvironment { get; set; } = "";
    }

    /// <summary>Every flag id, by name.</summary>
    public static Task<List<string>> IdsByNameAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        conn.ListAsync<string>(tx, "SELECT id FROM feature_flags ORDER BY name", null, ct);

    /// <summary>
    /// The statement, for a caller's batch, of the flag <c>@flagId</c>'s latest change that alters what users get: enabling,
    /// disabling, rollout moves, rollbacks, and updates that touch variants, rules, targeting or the default/off variant.
    /// Renames and description edits do not count. Per environment (issue 26): a change logged in <c>@environment</c>, or a
    /// change of the definition every environment serves (variants, rules), wherever it was logged. The JSON functions differ: SQLite's json_extract/json_type,
    /// PostgreSQL's jsonb operators (a key that is present with a JSON null counts as present in both). Its parameters are
    /// <see cref="EffectiveChangeParameters"/>; <see cref="ReadEffectiveChangeAsync"/> reads its result.
    /// </summary>
    public static string EffectiveChangeSql(DbConnection conn) => conn.Pick(
            sqlite: """
                SELECT id, change_type, timestamp,
                       CASE WHEN json_valid(previous_value) THEN json_extract(previous_value, '$.rolloutPercentage') END AS rollout_before,
                       CASE WHEN json_valid(new_value) THEN json_extract(new_value, '$.rolloutPercentage') END AS rollout_after
                FROM flag_changes
                WHERE flag_id = @flagId
                  AND (environment = @environment
                       OR (change_type = @updated AND json_valid(new_value) AND (json_type(new_value, '$.variants') IS NOT NULL OR json_type(new_value, '$.rules') IS NOT NULL)))
                  AND (change_type IN (@enabled, @disabled, @rollout, @rolledBack)
                       OR (change_type = @updated AND json_valid(new_value)
                           AND (json_type(new_value, '$.variants') IS NOT NULL OR json_type(new_value, '$.rules') IS NOT NULL
                                OR json_type(new_value, '$.targeting') IS NOT NULL OR json_type(new_value, '$.defaultVariant') IS NOT NULL
                                OR json_type(new_value, '$.offVariant') IS NOT NULL
                                OR json_type(new_value, '$.enabled') IS NOT NULL OR json_type(new_value, '$.rolloutPercentage') IS NOT NULL)))
                ORDER BY timestamp DESC, id DESC LIMIT 1
                """,
            postgres: """
                SELECT id, change_type, timestamp,
                       CASE WHEN jsonb_typeof(previous_value::jsonb -> 'rolloutPercentage') = 'number'
                            THEN (previous_value::jsonb ->> 'rolloutPercentage')::double precision END AS rollout_before,
                       CASE WHEN jsonb_typeof(new_value::jsonb -> 'rolloutPercentage') = 'number'
                            THEN (new_value::jsonb ->> 'rolloutPercentage')::double precision END AS rollout_after
                FROM flag_changes
                WHERE flag_id = @flagId
                  AND (environment = @environment
                       OR (change_type = @updated AND new_value IS NOT NULL AND (new_value::jsonb -> 'variants' IS NOT NULL OR new_value::jsonb -> 'rules' IS NOT NULL)))
                  AND (change_type IN (@enabled, @disabled, @rollout, @rolledBack)
                       OR (change_type = @updated AND new_value IS NOT NULL
                           AND (new_value::jsonb -> 'variants' IS NOT NULL OR new_value::jsonb -> 'rules' IS NOT NULL
                                OR new_value::jsonb -> 'targeting' IS NOT NULL OR new_value::jsonb -> 'defaultVariant' IS NOT NULL
                                OR new_value::jsonb -> 'offVariant' IS NOT NULL
                                OR new_value::jsonb -> 'enabled' IS NOT NULL OR new_value::jsonb -> 'rolloutPercentage' IS NOT NULL)))
                ORDER BY timestamp DESC, id DESC LIMIT 1
                """);

    public static object EffectiveChangeParameters => new
    {
        enabled = ChangeType.Enabled.ToWire(),
        disabled = ChangeType.Disabled.ToWire(),
        rollout = ChangeType.RolloutChanged.ToWire(),
        rolledBack = ChangeType.RolledBack.ToWire(),
        updated = ChangeType.Updated.ToWire(),
    };

    /// <summary>Reads the result of <see cref="EffectiveChangeSql"/> from a batch (the query matches known words only).</summary>
    public static async Task<EffectiveChange?> ReadEffectiveChangeAsync(SqlMapper.GridReader batch) =>
        await batch.ReadFirstOrDefaultAsync<ChangeRow>() is not { } row
        || !StoredWords.TryRead<ChangeType>("flag_changes", "change_type", row.Id, row.ChangeType, out var type) ? null
            : new EffectiveChange(row.Id, type, Time.FromMs(row.Timestamp), row.RolloutBefore, row.RolloutAfter);

    private sealed class ChangeRow
    {
        public string Id { get; set; } = "";
        public string ChangeType { get; set; } = "";
        public long Timestamp { get; set; }
        public double? RolloutBefore { get; set; }
        public double? RolloutAfter { get; set; }
    }
}

/// <summary>Common's <see cref="IFlagLookup"/> over <see cref="FlagQueries.ResolveAsync"/>.</summary>
internal sealed class FlagLookup : IFlagLookup
{
    public Task<Dictionary<string, FlagRef>> ResolveAsync(DbConnection conn, DbTransaction tx, IEnumerable<string> idsOrNames, CancellationToken ct) =>
        FlagQueries.ResolveAsync(conn, tx, idsOrNames, ct);
}
