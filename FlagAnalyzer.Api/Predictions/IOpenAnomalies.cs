using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>
/// The flag's open anomalies, read inside the change's transaction. Declared here because Anomalies is of the
/// same rank as Predictions (neither references the other); the composition root implements it over the store.
/// </summary>
public interface IOpenAnomalies
{
    Task<IReadOnlyList<Anomaly>> ListAsync(WriteScope scope, string flagId, CancellationToken ct);
}
