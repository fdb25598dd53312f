using System.Collections.Frozen;
using System.Text.Json;
using FlagAnalyzer.Api.Evaluation.JsonLogic;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>The kind shared by all of a flag's variant values.</summary>
public enum FlagValueType { Boolean, String, Number, Object }

/// <summary>
/// A flag ready to evaluate: targeting compiled, the rollout as a bucket count, and every non-error result
/// pre-built. Immutable; built by <see cref="FlagCompiler"/>.
/// </summary>
public sealed class CompiledFlag
{
    internal CompiledFlag(FlagDefinition d, FrozenDictionary<string, JsonElement> variants, FlagValueType type,
        string defaultVariant, string offVariant, Node? targeting)
    {
        Key = d.Key;
        FlagId = d.FlagId;
        Version = d.Version;
        DefinitionVersion = d.DefinitionVersion;
        VariantsDigest = Digest(variants);
        Environment = d.Environment;
        Enabled = d.Enabled;
        Variants = variants;
        ValueType = type;
        DefaultVariant = defaultVariant;
        OffVariant = offVariant;
        Targeting = targeting;
        RolloutThreshold = Bucketing.RolloutThreshold(d.RolloutPercentage);

        Disabled = new(variants[offVariant], offVariant, EvaluationReason.Disabled);
        Static = new(variants[defaultVariant], defaultVariant, EvaluationReason.Static);
        DefaultAfterTargeting = new(variants[defaultVariant], defaultVariant, EvaluationReason.Default);
        SplitIn = new(variants[defaultVariant], defaultVariant, EvaluationReason.Split);
        SplitOut = new(variants[offVariant], offVariant, EvaluationReason.Split);
        // targeting that is nothing but a fractional split assigns pseudo-randomly: OpenFeature's SPLIT
        var matchReason = targeting is Fractional ? EvaluationReason.Split : EvaluationReason.TargetingMatch;
        Matches = variants.ToFrozenDictionary(v => v.Key, v => new EvaluationResult(v.Value, v.Key, matchReason), StringComparer.Ordinal);
    }

    public string Key { get; }
    public string? FlagId { get; }
    public long Version { get; }
    /// <summary>The flag definition's version (<see cref="FlagDefinition.DefinitionVersion"/>).</summary>
    public long DefinitionVersion { get; }
    /// <summary>
    /// The variants' names and values, digested (the same on every replica): what of the definition an environment's
    /// answers depend on, so a description edit (which moves <see cref="DefinitionVersion"/>) is not a change there.
    /// </summary>
    public string VariantsDigest { get; }

    private static string Digest(FrozenDictionary<string, JsonElement> variants)
    {
        var text = new System.Text.StringBuilder();
        foreach (var (name, value) in variants.OrderBy(v => v.Key, StringComparer.Ordinal)) text.Append(name).Append('\0').Append(value.GetRawText()).Append('\0');
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 6));
    }
    public string Environment { get; }
    public bool Enabled { get; }
    public FrozenDictionary<string, JsonElement> Variants { get; }
    public FlagValueType ValueType { get; }
    public string DefaultVariant { get; }
    public string OffVariant { get; }
    public Node? Targeting { get; }
    /// <summary>How many of the 10 000 rollout buckets get the default variant.</summary>
    public int RolloutThreshold { get; }

    /// <summary>
    /// This flag as an environment without a configuration of it serves it: disabled, the same variants (a new environment's
    /// configuration, issue 26), version 0.
    /// </summary>
    internal CompiledFlag DisabledIn(string environment) => new(new FlagDefinition
    {
        Key = Key, FlagId = FlagId, Version = 0, DefinitionVersion = DefinitionVersion, Environment = environment, Enabled = false, RolloutPercentage = 0,
    }, Variants, ValueType, DefaultVariant, OffVariant, null);

    internal EvaluationResult Disabled { get; }
    internal EvaluationResult Static { get; }
    internal EvaluationResult DefaultAfterTargeting { get; }
    internal EvaluationResult SplitIn { get; }
    internal EvaluationResult SplitOut { get; }
    internal FrozenDictionary<string, EvaluationResult> Matches { get; }
}
