using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>Where a plan stands. A flag has at most one plan that is <see cref="Running"/> or <see cref="Paused"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RolloutState>))]
public enum RolloutState
{
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("paused")] Paused,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("rolled_back")] RolledBack,
    [JsonStringEnumMemberName("aborted")] Aborted,
}

/// <summary>One step of a plan: the exposure and what it must show before the next step.</summary>
public sealed record RolloutStage(double Percentage, int MinDurationSeconds, long MinRequests)
{
    [JsonIgnore]
    public TimeSpan MinDuration => TimeSpan.FromSeconds(MinDurationSeconds);
}

/// <summary>A staged rollout of one flag, as stored. <see cref="StageStartedAt"/> restarts on every advance and resume.</summary>
public sealed record RolloutPlan
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    /// <summary>The environment whose configuration the plan rolls out (issue 26: one plan per flag and environment).</summary>
    public string Environment { get; init; } = "";
    public required IReadOnlyList<RolloutStage> Stages { get; init; }
    public RolloutState State { get; init; }
    /// <summary>Index into <see cref="Stages"/> (0 until started).</summary>
    public int CurrentStage { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? StageStartedAt { get; init; }
    /// <summary>Why the plan last changed state (the guardian's evidence, or who acted).</summary>
    public string? Reason { get; init; }
    public string CreatedBy { get; init; } = "api";
    /// <summary>
    /// The metrics that guard the plan (<see cref="RolloutGuardrails"/>): each must have a comparison at a stage before it
    /// advances, and only their regressions roll back. Null: <see cref="RolloutGuardrails.Default"/>.
    /// </summary>
    public IReadOnlyList<string>? Guardrails { get; init; }
    /// <summary>
    /// How many times a stage's minimum duration (at least <see cref="StageMachine.MissingTrafficGrace"/>) it may wait for
    /// evidence before pausing. Null: <see cref="StageMachine.DefaultEvidenceWaitFactor"/>.
    /// </summary>
    public int? EvidenceWaitFactor { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public long Version { get; init; }

    [JsonIgnore]
    public bool IsActive => State is RolloutState.Running or RolloutState.Paused;

    [JsonIgnore]
    public RolloutStage Stage => Stages[CurrentStage];

    public static readonly IReadOnlyList<RolloutStage> DefaultStages =
    [
        new(1, 300, 1000),
        new(5, 300, 1000),
        new(25, 300, 1000),
        new(50, 300, 1000),
        new(100, 0, 0),
    ];
}

/// <summary>
/// How one guardrail metric compares between the cohorts since the plan started. <see cref="Variant"/> names the served
/// treatment variant compared with control, or is null when the treatment is compared as a whole (its samples do not
/// all name a variant).
/// </summary>
public sealed record RolloutVerdict(string Metric, Verdict Verdict, double? ControlValue, double? TreatmentValue, double? ChangePercent,
    double Confidence, Severity? Severity, string Note, string? Variant = null);

/// <summary>
/// Whether one guardrail has a comparison at the current stage: control against the treatment as a whole (or the served
/// <see cref="Variant"/>), each with at least <see cref="SamplesNeeded"/> samples carrying the metric since the stage
/// began, and the detector past its minimum-sample gate. <see cref="Waiting"/> says what is missing ("latency_p99: 2 of 3
/// samples per cohort"); null when <see cref="Ready"/>.
/// </summary>
public sealed record GuardrailEvidence(string Metric, string? Variant, bool Ready, int ControlSamples, int TreatmentSamples, int SamplesNeeded, string? Waiting);

/// <summary>
/// The guardrail metrics a plan may choose (the detector's metric names). By default a plan is guarded by the error rate
/// and P99 latency, which every sample carries, and by the conversion rate once its samples carry one; a metric the
/// application never reports would otherwise hold every stage until the plan pauses.
/// </summary>
public static class RolloutGuardrails
{
    public static readonly IReadOnlyList<string> All =
    [
        DetectionRules.MetricNames.ErrorRate, DetectionRules.MetricNames.LatencyP50, DetectionRules.MetricNames.LatencyP99,
        DetectionRules.MetricNames.ConversionRate, DetectionRules.MetricNames.UserSatisfaction,
    ];

    public static readonly IReadOnlyList<string> Default = [DetectionRules.MetricNames.ErrorRate, DetectionRules.MetricNames.LatencyP99];

    /// <summary>The plan's own list, or the default (with the conversion rate when any of <paramref name="samples"/> carries one).</summary>
    public static IReadOnlyList<string> Of(RolloutPlan plan, IEnumerable<MetricSample> samples) =>
        plan.Guardrails ?? (samples.Any(s => s.ConversionRate is not null) ? [.. Default, DetectionRules.MetricNames.ConversionRate] : Default);

    /// <summary>Whether a sample reports <paramref name="metric"/> (the error rate and latencies are in every sample).</summary>
    public static bool Carries(MetricSample s, string metric) => metric switch
    {
        DetectionRules.MetricNames.ConversionRate => s.ConversionRate is not null,
        DetectionRules.MetricNames.UserSatisfaction => s.UserSatisfactionScore is not null,
        _ => true,
    };
}

/// <summary>Counts for the current stage: what has been seen and what is still missing.</summary>
public sealed record StageProgress(double ElapsedSeconds, double SecondsLeft, double ControlRequests, double TreatmentRequests, double RequestsLeft);

/// <summary>The wire and storage names of <see cref="RolloutState"/> (its <c>[JsonStringEnumMemberName]</c> words).</summary>
public static class RolloutStates
{
    public static string Name(RolloutState s) => WireNames<RolloutState>.Name(s);

    public static RolloutState Parse(string s) =>
        WireNames<RolloutState>.TryParse(s, out var state) ? state : throw new InvalidOperationException($"Unknown rollout state '{s}'.");
}
