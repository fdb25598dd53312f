using System.Text.Json;
using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// The OpenFeature evaluation context: attributes by name, <c>targetingKey</c> among them. Built once per request
/// and shared by every flag the request evaluates.
/// </summary>
public sealed class EvaluationContext
{
    public const string TargetingKeyName = "targetingKey";

    public static readonly EvaluationContext Empty = new(new Dictionary<string, object?>(StringComparer.Ordinal));

    public EvaluationContext(IReadOnlyDictionary<string, object?> attributes) => Attributes = attributes;

    public IReadOnlyDictionary<string, object?> Attributes { get; }

    /// <summary>The targeting key when it is a string; other types count as absent.</summary>
    public string? TargetingKey => Attributes.TryGetValue(TargetingKeyName, out var k) ? k as string : null;

    public static EvaluationContext FromJson(JsonElement context) =>
        context.ValueKind == JsonValueKind.Object ? new EvaluationContext(Values.FromJsonObject(context)) : Empty;

    public static EvaluationContext For(string targetingKey, params (string Name, object? Value)[] attributes)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal) { [TargetingKeyName] = targetingKey };
        foreach (var (name, value) in attributes) d[name] = value is int i ? (double)i : value;
        return new EvaluationContext(d);
    }
}
