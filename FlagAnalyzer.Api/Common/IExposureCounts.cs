namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Where served evaluations are counted per flag, variant and minute. Evaluation counts its own OFREP answers there;
/// Telemetry adds the counts applications report through OpenTelemetry metrics (the OpenFeature metrics hook), so
/// evaluations served by another flag source still reach the sample-ratio check.
/// </summary>
public interface IExposureCounts
{
    /// <param name="environment">The environment the evaluations were served in (issue 26).</param>
    void Add(string flagId, string environment, string variant, DateTimeOffset at, long count);
}
