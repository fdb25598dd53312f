using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Predictions;
using Microsoft.Extensions.AI;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Llm;

namespace FlagAnalyzer.Api.Assistant;

/// <summary>
/// The functions the model may call. Every one only reads: the assistant has no way to change state, so
/// instructions smuggled into a flag description cannot make it do so.
/// </summary>
public sealed class AssistantTools(AssistantData data)
{
    private const int MaxItems = 50;

    // the API's camelCase wire format; a resolver of its own because AIFunctionFactory freezes the options it is given
    private static readonly JsonSerializerOptions ToolJson = new(Json.Options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    public IReadOnlyList<AITool> All => _all ??=
    [
        Create(ListFlags, Prompts.ListFlagsTool, Prompts.ListFlagsDescription),
        Create(GetFlag, Prompts.GetFlagTool, Prompts.GetFlagDescription),
        Create(GetMetricSummary, Prompts.MetricSummaryTool, Prompts.MetricSummaryDescription),
        Create(ListActiveAnomalies, Prompts.ActiveAnomaliesTool, Prompts.ActiveAnomaliesDescription),
        Create(ListRecentPredictions, Prompts.RecentPredictionsTool, Prompts.RecentPredictionsDescription),
        Create(ListFlagChanges, Prompts.ChangeHistoryTool, Prompts.ChangeHistoryDescription),
    ];

    private IReadOnlyList<AITool>? _all;

    /// <summary>The tools as <paramref name="caller"/> may use them: they read only what the caller sees (<see cref="FlagScope"/>).</summary>
    public AssistantTools For(Actor? caller) => caller.ListEnvironment() is null ? this : new AssistantTools(data.For(caller));

    private static AIFunction Create(Delegate method, string name, string description) =>
        AIFunctionFactory.Create(method, new AIFunctionFactoryOptions { Name = name, Description = description, SerializerOptions = ToolJson });

    public async Task<object> ListFlags(
        [Description(Prompts.EnvironmentParameter)] string? environment = null,
        [Description(Prompts.EnabledParameter)] bool? enabled = null,
        [Description(Prompts.SearchParameter)] string? search = null,
        [Description(Prompts.LimitParameter)] int? limit = null,
        CancellationToken ct = default)
    {
        var flags = await data.ListFlagsAsync(Blank(environment), enabled, Blank(search), Limit(limit), ct);
        return new { count = flags.Count, flags = flags.Select(FlagView) };
    }

    public async Task<object> GetFlag([Description(Prompts.FlagParameter)] string flag, CancellationToken ct = default)
    {
        if (await data.FindFlagAsync(flag, ct) is not { } f) return NotFound(flag);
        var prediction = (await data.RecentPredictionsAsync(f.Id, 1, ct)).FirstOrDefault();
        var anomalies = await data.OpenAnomaliesAsync(f.Id, MaxItems, ct);
        return new
        {
            flag = FlagView(f),
            f.Description,
            f.AutoRollback,
            f.CreatedAt,
            f.UpdatedAt,
            f.Version,
            latestPrediction = prediction is null ? null : PredictionView(prediction),
            openAnomalies = anomalies.Select(AnomalyView),
        };
    }

    public async Task<object> GetMetricSummary([Description(Prompts.FlagParameter)] string flag, CancellationToken ct = default)
    {
        if (await data.FindFlagAsync(flag, ct) is not { } f) return NotFound(flag);
        return new { flag = f.Name, summary = await data.MetricSummaryAsync(f, ct) };
    }

    public async Task<object> ListActiveAnomalies([Description(Prompts.FlagFilterParameter)] string? flag = null,
        CancellationToken ct = default)
    {
        var (flagId, missing) = await FlagFilterAsync(flag, ct);
        if (missing is not null) return missing;
        var anomalies = await data.OpenAnomaliesAsync(flagId, MaxItems, ct);
        return new { count = anomalies.Count, anomalies = anomalies.Select(AnomalyView) };
    }

    public async Task<object> ListRecentPredictions(
        [Description(Prompts.FlagFilterParameter)] string? flag = null,
        [Description(Prompts.MinimumRiskParameter)] string? minimumRiskLevel = null,
        [Description(Prompts.LimitParameter)] int? limit = null,
        CancellationToken ct = default)
    {
        var (flagId, missing) = await FlagFilterAsync(flag, ct);
        if (missing is not null) return missing;
        // a level the model made up filters nothing
        var min = RiskLevels.TryParse(minimumRiskLevel, out var level) ? level : RiskLevel.Low;
        var predictions = (await data.RecentPredictionsAsync(flagId, MaxItems, ct))
            .Where(p => p.RiskLevel >= min).Take(Limit(limit)).ToList();
        return new { count = predictions.Count, predictions = predictions.Select(PredictionView) };
    }

    public async Task<object> ListFlagChanges(
        [Description(Prompts.FlagFilterParameter)] string? flag = null,
        [Description(Prompts.LimitParameter)] int? limit = null,
        CancellationToken ct = default)
    {
        var (flagId, missing) = await FlagFilterAsync(flag, ct);
        if (missing is not null) return missing;
        var changes = await data.ChangesAsync(flagId, Limit(limit), ct);
        return new { count = changes.Count, changes = changes.Select(ChangeView) };
    }

    /// <summary>An optional flag filter: no filter, the flag's id, or the "not found" answer for the model.</summary>
    private async Task<(string? FlagId, object? Missing)> FlagFilterAsync(string? flag, CancellationToken ct)
    {
        if (Blank(flag) is not { } name) return (null, null);
        return await data.FindFlagAsync(name, ct) is { } f ? (f.Id, null) : (null, NotFound(name));
    }

    private static object NotFound(string flag) => new { error = $"No flag has the id or name '{flag}'." };

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static int Limit(int? limit) => Math.Clamp(limit ?? 20, 1, MaxItems);

    internal static object FlagView(Flag f) => new
    {
        f.Id, f.Name, f.Enabled, f.RolloutPercentage, f.TargetEnvironment, f.Owner, f.Tags,
    };

    internal static object PredictionView(Prediction p) => new
    {
        p.Id, p.FlagId, p.ChangeId, p.RiskLevel, p.RiskScore, p.PredictedImpact, p.Recommendations, p.Confidence,
        p.Reasoning, p.Source, p.CreatedAt,
    };

    internal static object AnomalyView(Anomaly a) => new
    {
        a.Id, a.FlagId, a.Type, a.Severity, a.Metric, a.BaselineValue, a.ObservedValue, a.ChangePercent, a.PValue,
        a.Message, a.Status, a.DetectedAt,
    };

    internal static object ChangeView(FlagChange c) => new
    {
        c.Id, c.FlagName, c.ChangeType, c.PreviousValue, c.NewValue, c.ChangedBy, c.Environment, c.Timestamp, c.Reason,
    };
}
