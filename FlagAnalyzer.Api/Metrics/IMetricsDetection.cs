using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>
/// Detection on a metrics write, inside the write transaction. Declared here and implemented by Anomalies (a
/// higher folder), so Metrics never references Anomalies; registered in DI.
/// </summary>
public interface IMetricsDetection
{
    /// <param name="recorded">The samples this transaction just inserted (their ids set).</param>
    /// <param name="flags">The flags and environments the samples are of: each is analysed on its own.</param>
    Task<MetricsDetected> DetectAsync(WriteScope scope, IReadOnlyCollection<FlagInEnvironment> flags, IReadOnlyList<MetricSample> recorded,
        CancellationToken ct);

    /// <summary>After commit: announces what the pass found and did.</summary>
    Task PublishAsync(MetricsDetected detected, CancellationToken ct);
}

/// <summary>
/// What one pass raised (each request is answered with its flags' anomalies). The detector derives from it to carry what
/// it publishes after commit, so nothing crosses the folder line untyped.
/// </summary>
public abstract record MetricsDetected(IReadOnlyList<Anomaly> Detected);
