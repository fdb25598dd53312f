using System.Text.Json;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>A sample as a client sends it; everything optional so validation can name what is missing.</summary>
public sealed record MetricSampleRequest
{
    public string? FlagId { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public string? Cohort { get; init; }
    public double? ErrorRate { get; init; }
    public double? LatencyP50 { get; init; }
    public double? LatencyP99 { get; init; }
    public long? RequestCount { get; init; }
    public double? ConversionRate { get; init; }
    public double? UserSatisfactionScore { get; init; }
    public string? Variant { get; init; }
    /// <summary>The environment the requests ran in; null: the flag's home (issue 26).</summary>
    public string? Environment { get; init; }
}

/// <summary>Source-generated reader for the ingestion hot path (same rules as the API's JSON options).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(MetricSampleRequest))]
[JsonSerializable(typeof(List<MetricSampleRequest>))]
internal sealed partial class MetricsJson : JsonSerializerContext;
