using System.Globalization;
using System.Text;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>
/// Answers the common questions straight from the data, without a language model: a named flag's state and
/// history, active anomalies, current risks. Used when no model is configured, or when the model fails.
/// </summary>
public sealed class DataAnswerer(AssistantData data)
{
    public const string NoModelNotice =
        "No language model is configured, so this answer comes straight from the data (statistics, not an LLM).";

    public static string ModelFailedNotice(string reason) =>
        $"The language model did not answer ({reason}), so this answer comes straight from the data (statistics, not an LLM).";

    private const int FlagScan = 1_000;

    /// <summary>Answers from what <paramref name="caller"/> may see (<see cref="FlagScope"/>).</summary>
    public DataAnswerer For(Actor? caller) => caller.ListEnvironment() is null ? this : new DataAnswerer(data.For(caller));
    private const int ListItems = 5;

    public async Task<string> AnswerAsync(string question, string notice, CancellationToken ct)
    {
        var text = question.ToLowerInvariant();
        var sb = new StringBuilder(notice).Append("\n\n");

        var flags = await data.ListFlagsAsync(null, null, null, FlagScan, ct);
        if (NamedFlag(text, flags) is { } flag)
            await DescribeFlagAsync(sb, flag, ct);
        else if (Mentions(text, "anomal", "incident", "spike", "regression", "alert", "alarm"))
            await DescribeAnomaliesAsync(sb, flags, ct);
        else if (Mentions(text, "risk", "predict", "danger", "safe", "impact"))
            await DescribeRisksAsync(sb, flags, ct);
        else if (Mentions(text, "flag", "enabled", "disabled", "rollout"))
            DescribeFlags(sb, flags);
        else
        {
            await DescribeRisksAsync(sb, flags, ct);
            sb.Append("\nFrom the data alone I can answer: current risks, active anomalies, and a named flag's state and history (mention the flag by name).");
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>The longest flag name (or id) the question mentions as a whole word.</summary>
    internal static Flag? NamedFlag(string lowerText, IReadOnlyList<Flag> flags)
    {
        foreach (var f in flags.OrderByDescending(f => f.Name.Length))
        {
            if (ContainsWord(lowerText, f.Name.ToLowerInvariant()) || ContainsWord(lowerText, f.Id.ToLowerInvariant())) return f;
        }
        return null;
    }

    private static bool ContainsWord(string text, string word)
    {
        for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + 1, StringComparison.Ordinal))
        {
            var end = i + word.Length;
            if ((i == 0 || !IsNameChar(text[i - 1])) && (end == text.Length || !IsNameChar(text[end]) || (text[end] == '.' && (end + 1 == text.Length || !IsNameChar(text[end + 1])))))
                return true;
        }
        return false;
    }

    private static bool IsNameChar(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.';

    private static bool Mentions(string text, params string[] words) => words.Any(w => text.Contains(w, StringComparison.Ordinal));

    private async Task DescribeFlagAsync(StringBuilder sb, Flag f, CancellationToken ct)
    {
        sb.Append(CultureInfo.InvariantCulture,
            $"Flag {f.Name} is {(f.Enabled ? "enabled" : "disabled")} at {Num(f.RolloutPercentage)}% rollout in {f.TargetEnvironment}");
        if (f.Owner.Length > 0) sb.Append(CultureInfo.InvariantCulture, $", owned by {f.Owner}");
        sb.Append(CultureInfo.InvariantCulture, $" (version {f.Version}, last updated {f.UpdatedAt:u}).\n");

        var prediction = (await data.RecentPredictionsAsync(f.Id, 1, ct)).FirstOrDefault();
        if (prediction is not null)
            sb.Append("Latest prediction: ").Append(PredictionLine(prediction, f.Name)).Append('\n');

        var anomalies = await data.OpenAnomaliesAsync(f.Id, ListItems, ct);
        sb.Append(anomalies.Count == 0 ? "No open anomalies.\n" : $"Open anomalies ({anomalies.Count}):\n");
        foreach (var a in anomalies) sb.Append("- ").Append(AnomalyLine(a, f.Name)).Append('\n');

        var summary = await data.MetricSummaryAsync(f, ct);
        if (summary.Overall is { } m)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"Metrics ({m.Samples} samples, {m.Requests} requests): error rate {Num(m.ErrorRate)}%, P50 {Num(m.LatencyP50)} ms, P99 {Num(m.LatencyP99)} ms");
            if (summary.AroundLatestChange is { ErrorRateChangePercent: { } e, LatencyP50ChangePercent: { } l })
                sb.Append(CultureInfo.InvariantCulture, $"; since the latest change error rate {Signed(e)}%, P50 latency {Signed(l)}%");
            sb.Append(".\n");
        }
        else sb.Append("No metrics recorded yet.\n");

        var changes = await data.ChangesAsync(f.Id, ListItems, ct);
        sb.Append(CultureInfo.InvariantCulture, $"Recent changes ({changes.Count}):\n");
        foreach (var c in changes)
            sb.Append(CultureInfo.InvariantCulture, $"- {c.Timestamp:u} {c.ChangeType.ToWire()} by {c.ChangedBy} in {c.Environment}\n");
    }

    private async Task DescribeAnomaliesAsync(StringBuilder sb, IReadOnlyList<Flag> flags, CancellationToken ct)
    {
        var anomalies = await data.OpenAnomaliesAsync(null, 50, ct);
        if (anomalies.Count == 0)
        {
            sb.Append("There are no active anomalies.\n");
            return;
        }
        sb.Append(CultureInfo.InvariantCulture, $"Open anomalies ({anomalies.Count}):\n");
        foreach (var a in anomalies.Take(ListItems * 2)) sb.Append("- ").Append(AnomalyLine(a, NameOf(flags, a.FlagId))).Append('\n');
    }

    private async Task DescribeRisksAsync(StringBuilder sb, IReadOnlyList<Flag> flags, CancellationToken ct)
    {
        var anomalies = await data.OpenAnomaliesAsync(null, 50, ct);
        var risky = (await data.RecentPredictionsAsync(null, 50, ct))
            .Where(p => p.RiskLevel >= RiskLevel.Medium)
            .OrderByDescending(p => p.RiskScore).Take(ListItems).ToList();
        if (anomalies.Count == 0 && risky.Count == 0)
        {
            sb.Append("No current risks: no active anomalies and no recent change predicted at medium risk or above.\n");
        }
        if (anomalies.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Active anomalies ({anomalies.Count}):\n");
            foreach (var a in anomalies.Take(ListItems)) sb.Append("- ").Append(AnomalyLine(a, NameOf(flags, a.FlagId))).Append('\n');
        }
        if (risky.Count > 0)
        {
            sb.Append("Riskiest recent changes:\n");
            foreach (var p in risky) sb.Append("- ").Append(PredictionLine(p, NameOf(flags, p.FlagId))).Append('\n');
        }
        var production = flags.Count(f => f.Enabled && f.TargetEnvironment == FlagEnvironments.Production);
        sb.Append(CultureInfo.InvariantCulture, $"{flags.Count} flags, {flags.Count(f => f.Enabled)} enabled, {production} enabled in production.\n");
    }

    private static void DescribeFlags(StringBuilder sb, IReadOnlyList<Flag> flags)
    {
        sb.Append(CultureInfo.InvariantCulture, $"{flags.Count} flags, {flags.Count(f => f.Enabled)} enabled:\n");
        foreach (var f in flags.Take(ListItems * 4))
            sb.Append(CultureInfo.InvariantCulture,
                $"- {f.Name}: {(f.Enabled ? "enabled" : "disabled")}, {Num(f.RolloutPercentage)}% in {f.TargetEnvironment}\n");
    }

    private static string NameOf(IReadOnlyList<Flag> flags, string flagId) => flags.FirstOrDefault(f => f.Id == flagId)?.Name ?? flagId;

    private static string AnomalyLine(Anomaly a, string flagName) => string.Create(CultureInfo.InvariantCulture,
        $"{flagName}: {a.Type.ToWire()} ({a.Severity.ToWire()}, {a.Status.ToWire()}) {a.Metric} {Num(a.BaselineValue)} → {Num(a.ObservedValue)} ({Signed(a.ChangePercent)}%), detected {a.DetectedAt:u}");

    private static string PredictionLine(Prediction p, string flagName) => string.Create(CultureInfo.InvariantCulture,
        $"{flagName}: {p.RiskLevel.ToWire()} risk ({Num(p.RiskScore)}/100, confidence {Num(p.Confidence)}, {p.Source}){(p.Recommendations.Count > 0 ? " — " + p.Recommendations[0] : "")}");

    private static string Num(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Signed(double v) => v.ToString("+0.#;-0.#;0", CultureInfo.InvariantCulture);
}
