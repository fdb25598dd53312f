using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>
/// The assistant's read-only view of live state, shared by the model's tools and the data answers. <see cref="For"/>
/// narrows it to what one caller sees (<see cref="FlagScope"/>): a staging key's assistant knows only staging flags.
/// </summary>
public sealed class AssistantData(Db db)
{
    /// <summary>Newest samples a metric summary reads.</summary>
    public const int SummarySamples = 2_000;

    /// <summary>The environment this view is narrowed to; null = every environment.</summary>
    public string? Environment { get; private init; }

    /// <summary>This view, as <paramref name="caller"/> may see it.</summary>
    public AssistantData For(Actor? caller) => caller.ListEnvironment() is { } env ? new AssistantData(db) { Environment = env } : this;

    public async Task<List<Flag>> ListFlagsAsync(string? environment, bool? enabled, string? search, int take, CancellationToken ct)
    {
        if (Environment is not null && environment is not null && environment != Environment) return [];
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.ListAsync(conn, new FlagStore.FlagFilter(environment ?? Environment, enabled, null, null, search), null, take, ct);
    }

    public async Task<Flag?> FindFlagAsync(string idOrName, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var flag = await FlagStore.FindAsync(conn, null, idOrName.Trim(), ct);
        return flag is not null && (Environment is null || flag.TargetEnvironment == Environment) ? flag : null;
    }

    public async Task<MetricSummary> MetricSummaryAsync(Flag flag, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var samples = await MetricStore.RecentAsync(conn, null, flag.Id, flag.TargetEnvironment, SummarySamples, ct);
        var latest = (await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flag.Id, null, null, null), null, 1, ct))
            .FirstOrDefault(c => c.ChangeType != ChangeType.Created);
        return MetricSummary.Summarise(flag.Id, samples, latest?.Timestamp);
    }

    public async Task<List<Anomaly>> OpenAnomaliesAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        if (Environment is not null)
            return await AnomalyStore.ListAsync(conn, flagId, [AnomalyStatus.Active, AnomalyStatus.Acknowledged], null, null, take, ct, Environment);
        return (await AnomalyStore.OpenAsync(conn, null, flagId, ct)).Take(take).ToList();
    }

    public async Task<List<Prediction>> RecentPredictionsAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await PredictionStore.ListAsync(conn, flagId, null, null, null, take, ct, Environment);
    }

    public async Task<List<FlagChange>> ChangesAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flagId, null, Environment, null), null, take, ct);
    }
}
