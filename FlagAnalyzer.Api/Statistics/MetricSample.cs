using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>One observation of a flag's effect (a row of <c>impact_metrics</c>).</summary>
public sealed record MetricSample
{
    public long Id { get; init; }
    public required string FlagId { get; init; }
    /// <summary>The environment of the flag the requests ran in (issue 26); empty until the write path resolves it (the flag's home).</summary>
    public string Environment { get; init; } = "";
    public DateTimeOffset Timestamp { get; init; }
    /// <summary><c>treatment</c> (flag on) or <c>control</c> (flag off); null when the sample is not split.</summary>
    public Cohort? Cohort { get; init; }
    /// <summary>Percent, 0–100.</summary>
    public double ErrorRate { get; init; }
    public double LatencyP50 { get; init; }
    public double LatencyP99 { get; init; }
    public long RequestCount { get; init; }
    /// <summary>Percent, 0–100.</summary>
    public double? ConversionRate { get; init; }
    /// <summary>0–5.</summary>
    public double? UserSatisfactionScore { get; init; }
    /// <summary>The flag variant the requests were served (e.g. from OpenTelemetry traces); null when not known.</summary>
    public string? Variant { get; init; }
}

/// <summary>Which side of a split a sample measured: <c>treatment</c> (flag on) or <c>control</c> (flag off).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Cohort>))]
public enum Cohort
{
    [JsonStringEnumMemberName("treatment")] Treatment,
    [JsonStringEnumMemberName("control")] Control,
}

/// <summary>The wire words of <see cref="Cohort"/>.</summary>
public static class Cohorts
{

    /// <summary>Ingest parses one per sample: a switch on the characters, no allocation.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Cohort cohort)
    {
        switch (text)
        {
            case "treatment": cohort = Cohort.Treatment; return true;
            case "control": cohort = Cohort.Control; return true;
            default: cohort = default; return false;
        }
    }

    public static bool TryParse(string? text, out Cohort cohort)
    {
        if (text is not null) return TryParse(text.AsSpan(), out cohort);
        cohort = default;
        return false;
    }

    /// <summary>An optional cohort that validation has accepted: null stays null, a word this build does not know throws.</summary>
    public static Cohort? ParseOptional(string? text) =>
        text is null ? null : TryParse(text.AsSpan(), out var c) ? c : throw new ArgumentException($"'{text}' is not a cohort.", nameof(text));
}
