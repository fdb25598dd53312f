using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>A regression the statistics found, with its lifecycle (a row of <c>anomalies</c>).</summary>
public sealed record Anomaly
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    /// <summary>The environment whose samples showed the regression (issue 26: each environment is analysed on its own).</summary>
    public string Environment { get; init; } = "";
    public required AnomalyType Type { get; init; }
    public required Severity Severity { get; init; }
    public required string Metric { get; init; }
    public double BaselineValue { get; init; }
    public double ObservedValue { get; init; }
    public double ChangePercent { get; init; }
    public double Confidence { get; init; }
    public double PValue { get; init; }
    public string Message { get; init; } = "";
    public AnomalyStatus Status { get; init; } = AnomalyStatus.Active;
    public DateTimeOffset DetectedAt { get; init; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    /// <summary>"On behalf of", as the request said; <see cref="ActorKeyId"/> is the key that acknowledged.</summary>
    public string? AcknowledgedBy { get; init; }
    /// <summary>The API key that acknowledged the anomaly (null while unacknowledged, or when no key acted).</summary>
    public string? ActorKeyId { get; init; }
    /// <summary>That key's name.</summary>
    public string? ActorName { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    /// <summary>The flag change after which the regression started, when the baseline is "before a change".</summary>
    public string? ChangeId { get; init; }
    /// <summary>The treatment variant compared with control, when the flag's samples name their variants.</summary>
    public string? Variant { get; init; }
}

/// <summary>What kind of regression an anomaly is; wire words in snake_case.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AnomalyType>))]
public enum AnomalyType
{
    [JsonStringEnumMemberName("error_spike")] ErrorSpike,
    [JsonStringEnumMemberName("latency_spike")] LatencySpike,
    [JsonStringEnumMemberName("conversion_drop")] ConversionDrop,
    [JsonStringEnumMemberName("satisfaction_drop")] SatisfactionDrop,
}

/// <summary>An anomaly's lifecycle: active → acknowledged (by a person) → resolved (by the statistics).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AnomalyStatus>))]
public enum AnomalyStatus
{
    [JsonStringEnumMemberName("active")] Active,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("resolved")] Resolved,
}

/// <summary>How bad a regression is. Declared in rank order, so <c>&lt;</c> and <c>&gt;</c> compare severities.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Severity>))]
public enum Severity
{
    [JsonStringEnumMemberName("low")] Low,
    [JsonStringEnumMemberName("medium")] Medium,
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("critical")] Critical,
}

/// <summary>The wire words of <see cref="AnomalyType"/> (database, query parameters, text).</summary>
public static class AnomalyTypes
{
    public static IReadOnlyList<AnomalyType> All => WireNames<AnomalyType>.All;
    public static bool TryParse(string? text, out AnomalyType type) => WireNames<AnomalyType>.TryParse(text, out type);
}

/// <summary>The wire words of <see cref="AnomalyStatus"/>.</summary>
public static class AnomalyStatuses
{
    public static IReadOnlyList<AnomalyStatus> All => WireNames<AnomalyStatus>.All;
    public static bool TryParse(string? text, out AnomalyStatus status) => WireNames<AnomalyStatus>.TryParse(text, out status);
}

/// <summary>The wire words of <see cref="Severity"/>.</summary>
public static class Severities
{
    public static IReadOnlyList<Severity> All => WireNames<Severity>.All;
    public static bool TryParse(string? text, out Severity severity) => WireNames<Severity>.TryParse(text, out severity);

    /// <summary>Low 0 … critical 3 (the declaration order; the enum's own comparison says the same).</summary>
    public static int Rank(this Severity severity) => (int)severity;
}
