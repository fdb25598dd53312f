using System.Collections.Frozen;
using System.Text.Json;
using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>One reason a flag definition cannot be served, at a JSON path such as <c>targeting.if[1].fractional[2]</c>.</summary>
public sealed record DefinitionError(string Path, string Message);

/// <summary>
/// Validates a <see cref="FlagDefinition"/> and compiles it. Everything that could go wrong at evaluation time
/// because of the definition's shape is refused here, on save, with the path of the bad node.
/// </summary>
public static class FlagCompiler
{
    public const int MaxVariants = 100;

    public static bool TryCompile(FlagDefinition d, out CompiledFlag? flag, out IReadOnlyList<DefinitionError> errors)
    {
        var list = new List<DefinitionError>();
        flag = null;
        errors = list;

        var variantsJson = d.Variants is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } v ? v : FlagDefaults.Variants;
        var variants = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        FlagValueType? type = null;
        if (variantsJson.ValueKind != JsonValueKind.Object)
            list.Add(new("variants", "must be an object mapping variant names to values"));
        else
        {
            foreach (var p in variantsJson.EnumerateObject())
            {
                var path = $"variants.{p.Name}";
                if (p.Name.Length is 0 or > 100) { list.Add(new(path, "a variant name has 1-100 characters")); continue; }
                FlagValueType? kind = p.Value.ValueKind switch
                {
                    JsonValueKind.True or JsonValueKind.False => FlagValueType.Boolean,
                    JsonValueKind.String => FlagValueType.String,
                    JsonValueKind.Number => FlagValueType.Number,
                    JsonValueKind.Object => FlagValueType.Object,
                    _ => null,
                };
                if (kind is null) { list.Add(new(path, "must be a boolean, string, number or object")); continue; }
                type ??= kind;
                if (kind != type) list.Add(new(path, $"is a {kind.Value.ToString().ToLowerInvariant()}, but the variants are {type.Value.ToString().ToLowerInvariant()}s: all variants have one type"));
                variants[p.Name] = p.Value.Clone();
            }
            if (variants.Count == 0 && list.Count == 0) list.Add(new("variants", "needs at least one variant"));
            if (variants.Count > MaxVariants) list.Add(new("variants", $"at most {MaxVariants} variants"));
        }

        var defaultVariant = d.DefaultVariant ?? FlagDefaults.DefaultVariant;
        var offVariant = d.OffVariant ?? FlagDefaults.OffVariant;
        if (variants.Count > 0 && !variants.ContainsKey(defaultVariant))
            list.Add(new("defaultVariant", $"'{defaultVariant}' is not one of the variants ({string.Join(", ", variants.Keys)})"));
        if (variants.Count > 0 && !variants.ContainsKey(offVariant))
            list.Add(new("offVariant", $"'{offVariant}' is not one of the variants ({string.Join(", ", variants.Keys)})"));
        if (d.RolloutPercentage is < 0 or > 100 || double.IsNaN(d.RolloutPercentage))
            list.Add(new("rolloutPercentage", "must be between 0 and 100"));

        Node? targeting = null;
        if (!FlagDefaults.IsEmptyTargeting(d.Targeting))
        {
            try
            {
                targeting = JsonLogicCompiler.Compile(d.Targeting!.Value, "targeting", d.Evaluators, out var fractionals);
                CheckVariantNames(fractionals, variants, list);
            }
            catch (JsonLogicException ex)
            {
                list.Add(new(ex.Path, ex.Reason));
            }
        }

        if (list.Count > 0) return false;
        flag = new CompiledFlag(d, variants.ToFrozenDictionary(StringComparer.Ordinal), type!.Value, defaultVariant, offVariant, targeting);
        return true;
    }

    public static CompiledFlag Compile(FlagDefinition d) => TryCompile(d, out var f, out var errors)
        ? f!
        : throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")), nameof(d));

    /// <summary>Literal variant names in <c>fractional</c> must exist: a typo there would only show as errors when served.</summary>
    private static void CheckVariantNames(IReadOnlyList<(string Path, Fractional Node)> fractionals, Dictionary<string, JsonElement> variants,
        List<DefinitionError> list)
    {
        if (variants.Count == 0) return;
        foreach (var (path, f) in fractionals)
            for (var i = 0; i < f.Variants.Count; i++)
                if (f.Variants[i] is Literal { Value: string name } && !variants.ContainsKey(name))
                    list.Add(new($"{path}[{i + f.FirstDistribution}][0]", $"'{name}' is not one of the variants ({string.Join(", ", variants.Keys)})"));
    }
}
