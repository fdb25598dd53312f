using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// <c>PUT /api/flags/{idOrName}/rollout</c>'s body: omitted (or null) stages mean <see cref="RolloutPlan.DefaultStages"/>;
/// omitted guardrails mean <see cref="RolloutGuardrails.Default"/> (error_rate, latency_p99, and conversion_rate when
/// samples carry it); an omitted evidence wait factor means <see cref="StageMachine.DefaultEvidenceWaitFactor"/>.
/// </summary>
public sealed record SaveRolloutRequest(List<RolloutStageRequest?>? Stages, string? ChangedBy)
{
    /// <summary>The environment the plan rolls out (issue 26); null: <c>?environment=</c>, else the flag's home.</summary>
    public string? Environment { get; init; }
    public List<string?>? Guardrails { get; init; }
    public int? EvidenceWaitFactor { get; init; }
}

public sealed record RolloutStageRequest(double? Percentage, int? MinDurationSeconds, long? MinRequests);

public static class RolloutRules
{
    public const int MaxStages = 20;
    /// <summary>Thirty days: a stage that must wait longer is a schedule, not a stage.</summary>
    public const int MaxStageSeconds = 30 * 24 * 3600;
    public const int MaxEvidenceWaitFactor = 100;

    /// <summary>Checks the guardrails (<c>guardrails[1]</c> names an unknown word) and the evidence wait factor.</summary>
    public static IReadOnlyList<string>? ValidateGuardrails(SaveRolloutRequest r, Validator v)
    {
        if (r.EvidenceWaitFactor is < 1 or > MaxEvidenceWaitFactor)
            v.Add("evidenceWaitFactor", $"must be between 1 and {MaxEvidenceWaitFactor} (times a stage's minimum duration)");
        if (r.Guardrails is null) return null;
        if (r.Guardrails.Count == 0) v.Add("guardrails", $"must name at least one metric (or be omitted for the default {string.Join(", ", RolloutGuardrails.Default)})");
        var list = new List<string>();
        for (var i = 0; i < r.Guardrails.Count; i++)
        {
            var g = r.Guardrails[i];
            if (g is null || !RolloutGuardrails.All.Contains(g, StringComparer.Ordinal))
                v.Add($"guardrails[{i}]", $"must be one of {string.Join(", ", RolloutGuardrails.All)}");
            else if (list.Contains(g)) v.Add($"guardrails[{i}]", $"repeats '{g}'");
            else list.Add(g);
        }
        return list;
    }

    /// <summary>Checks the plan; errors name the stage (<c>stages[2].percentage</c>).</summary>
    public static Validator Validate(SaveRolloutRequest r, out IReadOnlyList<RolloutStage> stages)
    {
        var v = new Validator();
        stages = RolloutPlan.DefaultStages;
        ValidateGuardrails(r, v);
        Flags.FlagRules.CheckChangedBy(r.ChangedBy, v);
        if (r.Stages is null) return v;
        if (r.Stages.Count == 0) v.Add("stages", "must hold at least one stage (or be omitted for the default 1 → 5 → 25 → 50 → 100 %)");
        if (r.Stages.Count > MaxStages) v.Add("stages", $"at most {MaxStages} stages");
        var list = new List<RolloutStage>();
        double previous = 0;
        for (var i = 0; i < r.Stages.Count; i++)
        {
            var field = $"stages[{i}]";
            if (r.Stages[i] is not { } st)
            {
                v.Add(field, "is required");
                continue;
            }
            if (st.Percentage is not { } pct) v.Add($"{field}.percentage", "is required");
            else if (double.IsNaN(pct) || pct <= 0 || pct > 100) v.Add($"{field}.percentage", "must be above 0 and at most 100");
            else if (pct <= previous) v.Add($"{field}.percentage", $"must be above the previous stage's {previous:0.##} % (percentages increase)");
            if (st.MinDurationSeconds is < 0 or > MaxStageSeconds) v.Add($"{field}.minDurationSeconds", $"must be between 0 and {MaxStageSeconds}");
            if (st.MinRequests is < 0) v.Add($"{field}.minRequests", "must not be negative");
            if (st.Percentage is { } p && !double.IsNaN(p)) previous = Math.Max(previous, p);
            list.Add(new RolloutStage(st.Percentage ?? 0, st.MinDurationSeconds ?? 300, st.MinRequests ?? 1000));
        }
        if (v.IsValid) stages = list;
        return v;
    }
}
