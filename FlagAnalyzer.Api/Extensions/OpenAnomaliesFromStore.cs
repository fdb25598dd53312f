using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Extensions;

/// <summary>Predictions' view of open anomalies, over the Anomalies store (the two folders do not reference each other).</summary>
internal sealed class OpenAnomaliesFromStore : IOpenAnomalies
{
    public async Task<IReadOnlyList<Anomaly>> ListAsync(WriteScope scope, string flagId, CancellationToken ct) =>
        await AnomalyStore.OpenAsync(scope.Connection, scope.Transaction, flagId, ct);
}
