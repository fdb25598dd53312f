using Dapper;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>What <see cref="AnalysisStore.ReadInputsAsync"/> read for one flag's detection pass; <c>Flag</c> is null when it no longer exists.</summary>
public sealed record DetectionInputs(Flag? Flag, Anchor? Anchor, string? CommittedToken, List<Anomaly> Open);

/// <summary>The change a flag's analysis window is split around.</summary>
public sealed record Anchor(string ChangeId, ChangeType ChangeType, DateTimeOffset Timestamp, double? RolloutBefore = null, double? RolloutAfter = null);

/// <summary>
/// The detector's own SQL (<c>analysis_windows</c>) and the batch that gathers a pass's inputs from the stores that own them
/// (flags and changes from Flags, open anomalies from <see cref="AnomalyStore"/>); callers own the transaction.
/// </summary>
public static class AnalysisStore
{
    /// <summary>The flag's window token as this transaction sees it (the last committed pass's), then <c>@newToken</c> in its place.</summary>
    private const string SwapTokenSql = """
        SELECT token FROM analysis_windows WHERE flag_id = @flagId AND environment = @environment;
        INSERT INTO analysis_windows(flag_id, environment, token) VALUES (@flagId, @environment, @newToken)
        ON CONFLICT(flag_id, environment) DO UPDATE SET token = excluded.token
        """;

    /// <summary>
    /// Everything a detection pass reads before it computes, in one batch (one round trip on PostgreSQL, where the write
    /// path's statements each cost one): the flag, the change its analysis is anchored on, its window token (read, then
    /// replaced by <paramref name="newToken"/>, see <see cref="FlagWindowCache"/>) and its open anomalies. A flag that no
    /// longer exists keeps no token.
    /// </summary>
    /// <remarks>Issue 26: everything is the flag's in <paramref name="environment"/> — its token, its open anomalies and the
    /// change its window is split around (one of that environment's configuration, or of the definition they all serve).</remarks>
    public static async Task<DetectionInputs> ReadInputsAsync(WriteScope s, string flagId, string environment, string newToken, CancellationToken ct)
    {
        var parameters = new DynamicParameters(AnomalyStore.OpenParameters(flagId, environment));
        parameters.AddDynamicParams(FlagQueries.EffectiveChangeParameters);
        parameters.Add("newToken", newToken);
        var sql = string.Join(";\n", FlagStore.FlagByIdSql, FlagQueries.EffectiveChangeSql(s.Connection), SwapTokenSql, AnomalyStore.OpenSql);
        DetectionInputs inputs;
        await using (var batch = await s.Connection.QueryMultipleAsync(new CommandDefinition(sql, parameters, s.Transaction, cancellationToken: ct)))
        {
            var flag = await FlagStore.ReadFlagAsync(batch);
            var anchor = await FlagQueries.ReadEffectiveChangeAsync(batch) is { } c
                ? new Anchor(c.ChangeId, c.ChangeType, c.Timestamp, c.RolloutBefore, c.RolloutAfter) : null;
            var committedToken = await batch.ReadFirstOrDefaultAsync<string>();
            var open = await AnomalyStore.ReadAnomaliesAsync(batch);
            inputs = new DetectionInputs(flag, anchor, committedToken, open);
        }
        if (inputs.Flag is null) await s.ExecAsync("DELETE FROM analysis_windows WHERE flag_id = @flagId", new { flagId }, ct);
        return inputs;
    }
}
