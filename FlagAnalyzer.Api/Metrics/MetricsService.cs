using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>
/// Samples to store, already validated (<see cref="MetricsApi.Validate"/>): each <c>FlagId</c> is a flag's id or
/// name, each timestamp set. All of them are stored in one transaction, or none.
/// </summary>
public sealed record RecordMetricsRequest(IReadOnlyList<MetricSample> Samples);

/// <summary>The outcome of <see cref="MetricsService.RecordAsync"/>.</summary>
public abstract record RecordMetricsResult
{
    private RecordMetricsResult() { }

    public sealed record Recorded(MetricsAccepted Accepted) : RecordMetricsResult;

    /// <summary>No flag has the id or name <paramref name="Key"/>, first given by sample <paramref name="Index"/>; nothing was stored.</summary>
    public sealed record FlagNotFound(string Key, int Index) : RecordMetricsResult;
}

public sealed record MetricsAccepted(int Accepted, IReadOnlyList<Anomaly> Anomalies);

/// <summary>The <c>metrics.recorded</c> payload: counts per flag, not the samples themselves.</summary>
public sealed record MetricsRecorded(string FlagId, int Count, DateTimeOffset From, DateTimeOffset To, MetricSample Latest);

/// <summary>The metrics write: samples, detection and guardian rollbacks commit together; live events follow the commit.</summary>
public sealed class MetricsService(Db db, IFlagIds flags, IMetricsDetection detection, ILiveEventPublisher live)
{
    public async Task<RecordMetricsResult> RecordAsync(RecordMetricsRequest request, CancellationToken ct)
    {
        var given = request.Samples;
        // resolve each distinct flag id or name once
        var flagIds = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < given.Count; i++)
        {
            var key = given[i].FlagId;
            if (flagIds.ContainsKey(key)) continue;
            if (await flags.ResolveAsync(key, ct) is not { } id) return new RecordMetricsResult.FlagNotFound(key, i);
            flagIds[key] = id;
        }
        var samples = given.Select(m => m.FlagId == flagIds[m.FlagId] ? m : m with { FlagId = flagIds[m.FlagId] }).ToList();

        List<MetricSample> stored;
        MetricsDetected detected;
        await using (var scope = await db.BeginWriteAsync(ct))
        {
            stored = MetricStore.Insert(scope, samples);
            detected = await detection.DetectAsync(scope, flagIds.Values.Distinct().ToList(), stored, ct);
            await scope.CommitAsync(ct);
        }

        foreach (var group in stored.GroupBy(m => m.FlagId))
        {
            var latest = group.MaxBy(m => m.Timestamp)!;
            await live.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded,
                new MetricsRecorded(group.Key, group.Count(), group.Min(m => m.Timestamp), latest.Timestamp, latest), group.Key), ct);
        }
        await detection.PublishAsync(detected, ct);
        return new RecordMetricsResult.Recorded(new MetricsAccepted(stored.Count, detected.Detected));
    }
}
