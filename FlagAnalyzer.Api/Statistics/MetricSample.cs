namespace FlagAnalyzer.Api.Statistics;

/// <summary>One observation of a flag's effect (a row of <c>impact_metrics</c>).</summary>
public sealed record MetricSample
{
    public long Id { get; init; }
    public required string FlagId { get; init; }
    public DateTimeOffset Timestamp { get; init; }
    /// <summary><c>treatment</c> (flag on) or <c>control</c> (flag off); null when the sample is not split.</summary>
    public string? Cohort { get; init; }
    /// <summary>Percent, 0–100.</summary>
    public double ErrorRate { get; init; }
    public double LatencyP50 { get; init; }
    public double LatencyP99 { get; init; }
    public long RequestCount { get; init; }
    /// <summary>Percent, 0–100.</summary>
    public double? ConversionRate { get; init; }
    /// <summary>0–5.</summary>
    public double? UserSatisfactionScore { get; init; }
}

public static class Cohorts
{
    public const string Treatment = "treatment";
    public const string Control = "control";
}
