using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>Builds compiled flags for the evaluation tests.</summary>
internal static class Flags
{
    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>flagd's colour variants from its evaluator tests (core/pkg/evaluator).</summary>
    public const string Colors = """{"red":"#FF0000","blue":"#0000FF","green":"#00FF00","yellow":"#FFFF00"}""";

    public static CompiledFlag Compile(string key, string? targeting = null, string? variants = null, string? defaultVariant = null,
        string? offVariant = null, double rollout = 100, bool enabled = true) =>
        FlagCompiler.Compile(new FlagDefinition
        {
            Key = key,
            Enabled = enabled,
            Variants = variants is null ? null : Json(variants),
            DefaultVariant = defaultVariant,
            OffVariant = offVariant,
            RolloutPercentage = rollout,
            Targeting = targeting is null ? null : Json(targeting),
        });

    public static EvaluationResult Evaluate(CompiledFlag flag, object context) =>
        FlagEvaluator.System.Evaluate(flag, EvaluationContext.FromJson(JsonSerializer.SerializeToElement(context)));
}
