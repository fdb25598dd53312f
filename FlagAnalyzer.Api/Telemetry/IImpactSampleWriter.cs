namespace FlagAnalyzer.Api.Telemetry;

/// <summary>Stores one flush of impact samples as ordinary metric samples, in one write transaction.</summary>
public interface IImpactSampleWriter
{
    Task WriteAsync(IReadOnlyList<ImpactSample> samples, CancellationToken ct);
}
