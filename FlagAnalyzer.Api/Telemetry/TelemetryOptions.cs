namespace FlagAnalyzer.Api.Telemetry;

/// <summary>The <c>Telemetry</c> configuration section (every value has a default).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The length of one aggregation interval: one metric sample per flag × variant × interval.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>How long after an interval ends its samples wait for late spans (exporters batch for a few seconds).</summary>
    public TimeSpan FlushDelay { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>The cap on flag × variant × interval buckets held in memory; an export needing more is shed with 503.</summary>
    public int MaxBuckets { get; set; } = 2048;
    /// <summary>
    /// The cap on one flag's open buckets (variants × intervals): a flood of one flag's spans over many intervals is shed
    /// with 503 while other flags still export. A flag's variants are bounded by its definition (spans naming others are
    /// rejected), so what this bounds is mostly how many intervals of late spans one flag may hold open.
    /// </summary>
    public int MaxBucketsPerFlag { get; set; } = 256;
    /// <summary>Exports decoded at the same time; more wait in a queue of <see cref="MaxQueuedExports"/>, beyond it 429.</summary>
    public int MaxConcurrentExports { get; set; } = Math.Max(2, Environment.ProcessorCount);
    public int MaxQueuedExports { get; set; } = 16;
    /// <summary>The most a gzip body may inflate to (the compressed body is bounded by the API's request limit).</summary>
    public int MaxDecompressedBytes { get; set; } = 8 * 1024 * 1024;
    /// <summary>Request spans longer than this, older than <see cref="MaxSpanAge"/> or ending further in the future are absurd.</summary>
    public TimeSpan MaxSpanDuration { get; set; } = TimeSpan.FromHours(1);
    public TimeSpan MaxSpanAge { get; set; } = TimeSpan.FromDays(1);
    public TimeSpan FutureTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long feature_flag.evaluation log records and request spans wait for each other (they come in separate exports).</summary>
    public TimeSpan LogJoinWindow { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>The most spans, and the most log evaluations, held for the join; past it new ones are not kept (and counted).</summary>
    public int MaxPendingJoins { get; set; } = 100_000;

    public SpanTimeLimits TimeLimits => new(MaxSpanDuration, MaxSpanAge, FutureTolerance);
}
