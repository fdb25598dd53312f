namespace FlagAnalyzer.Api.Statistics;

/// <summary>A regression the statistics found, with its lifecycle (a row of <c>anomalies</c>).</summary>
public sealed record Anomaly
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    public required string Type { get; init; }
    public required string Severity { get; init; }
    public required string Metric { get; init; }
    public double BaselineValue { get; init; }
    public double ObservedValue { get; init; }
    public double ChangePercent { get; init; }
    public double Confidence { get; init; }
    public double PValue { get; init; }
    public string Message { get; init; } = "";
    public string Status { get; init; } = AnomalyStatuses.Active;
    public DateTimeOffset DetectedAt { get; init; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public string? AcknowledgedBy { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    /// <summary>The flag change after which the regression started, when the baseline is "before a change".</summary>
    public string? ChangeId { get; init; }
}

public static class AnomalyTypes
{
    public const string ErrorSpike = "error_spike";
    public const string LatencySpike = "latency_spike";
    public const string ConversionDrop = "conversion_drop";
    public const string SatisfactionDrop = "satisfaction_drop";
    public static readonly IReadOnlySet<string> All = new HashSet<string>([ErrorSpike, LatencySpike, ConversionDrop, SatisfactionDrop]);
}

public static class AnomalyStatuses
{
    public const string Active = "active";
    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";
    public static readonly IReadOnlySet<string> All = new HashSet<string>([Active, Acknowledged, Resolved]);
}

public static class Severities
{
    public const string Low = "low";
    public const string Medium = "medium";
    public const string High = "high";
    public const string Critical = "critical";
    public static readonly IReadOnlySet<string> All = new HashSet<string>([Low, Medium, High, Critical]);

    /// <summary>Orders the four levels (severities and risk levels share them): critical 3 … low 0.</summary>
    public static int Rank(string level) => level switch { Critical => 3, High => 2, Medium => 1, _ => 0 };
}
