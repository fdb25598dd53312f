namespace FlagAnalyzer.Api.Common;

/// <summary>
/// One flag in one environment (issue 26): what samples, detection windows, anomalies, predictions and rollout plans are
/// keyed by.
/// </summary>
public readonly record struct FlagInEnvironment(string FlagId, string Environment);
