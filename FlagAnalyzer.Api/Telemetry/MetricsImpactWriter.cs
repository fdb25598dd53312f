using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// Stores a flush through the metrics write service: one transaction with detection, live events after commit,
/// exactly like <c>POST /api/metrics</c>.
/// </summary>
public sealed class MetricsImpactWriter(MetricsService metrics, ILogger<MetricsImpactWriter> logger) : IImpactSampleWriter
{
    public async Task WriteAsync(IReadOnlyList<ImpactSample> samples, CancellationToken ct)
    {
        var rows = samples.Select(s => new MetricSample
        {
            FlagId = s.FlagId,
            Environment = s.Environment,
            Timestamp = s.Timestamp,
            Cohort = s.Cohort,
            Variant = s.Variant,
            ErrorRate = s.ErrorRate,
            LatencyP50 = s.LatencyP50,
            LatencyP99 = Math.Max(s.LatencyP50, s.LatencyP99),
            RequestCount = s.RequestCount,
        }).ToList();
        // a flag deleted since its spans were accepted has nowhere to keep them: drop its samples, store the rest
        while (rows.Count > 0)
        {
            if (await metrics.RecordAsync(new RecordMetricsRequest(rows), ct) is not RecordMetricsResult.FlagNotFound gone) return;
            logger.LogWarning("Flag {FlagId} was deleted before its telemetry samples were stored; dropping them", gone.Key);
            rows = rows.Where(r => r.FlagId != gone.Key).ToList();
        }
    }
}
