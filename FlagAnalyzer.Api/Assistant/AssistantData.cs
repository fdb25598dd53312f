using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>The assistant's read-only view of live state, shared by the model's tools and the data answers.</summary>
public sealed class AssistantData(Db db)
{
    /// <summary>Newest samples a metric summary reads.</summary>
    public const int SummarySamples = 2_000;

    public async Task<List<Flag>> ListFlagsAsync(string? environment, bool? enabled, string? search, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.ListAsync(conn, new FlagStore.FlagFilter(environment, enabled, null, null, search), null, take, ct);
    }

    public async Task<Flag?> FindFlagAsync(string idOrName, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.FindAsync(conn, null, idOrName.Trim(), ct);
    }

    public async Task<MetricSummary> MetricSummaryAsync(Flag flag, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var samples = await MetricStore.RecentAsync(conn, null, flag.Id, SummarySamples, ct);
        var latest = (await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flag.Id, null, null, null), null, 1, ct))
            .FirstOrDefault(c => c.ChangeType != ChangeType.Created);
        return MetricSummary.Summarise(flag.Id, samples, latest?.Timestamp);
    }

    public async Task<List<Anomaly>> OpenAnomaliesAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await AnomalyStore.OpenAsync(conn, null, flagId, ct)).Take(take).ToList();
    }

    public async Task<List<Prediction>> RecentPredictionsAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await PredictionStore.ListAsync(conn, flagId, null, null, null, take, ct);
    }

    public async Task<List<FlagChange>> ChangesAsync(string? flagId, int take, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await FlagStore.ListChangesAsync(conn, null, new FlagStore.ChangeFilter(flagId, null, null, null), null, take, ct);
    }
}
