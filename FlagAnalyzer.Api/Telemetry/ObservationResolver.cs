using FlagAnalyzer.Api.Common;
using System.Globalization;
using System.Text.Json;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>Observations of known flags with variants they have, and what was turned away for naming a variant they do not.</summary>
public sealed record ResolvedObservations(List<ResolvedObservation> Accepted, int UnknownVariants, IReadOnlyList<string> UnknownVariantExamples)
{
    /// <summary>Observations whose environment the sender may not report for (or that is no environment's name): counted, not stored.</summary>
    public int OutOfScope { get; init; }
    public IReadOnlyList<string> OutOfScopeExamples { get; init; } = [];

    /// <summary>For a partial-success message: the observations turned away for their environment.</summary>
    public string? DescribeOutOfScope() => OutOfScope == 0 ? null : string.Create(CultureInfo.InvariantCulture,
        $"{OutOfScope} span(s) named an environment this key may not report for: {string.Join(", ", OutOfScopeExamples)}{(OutOfScope > OutOfScopeExamples.Count ? ", …" : "")}");

    /// <summary>For a partial-success message: how many were rejected and a few of the flag/variant pairs.</summary>
    public string? Describe() => UnknownVariants == 0 ? null : string.Create(CultureInfo.InvariantCulture,
        $"{UnknownVariants} span(s) named a variant their flag does not have: {string.Join(", ", UnknownVariantExamples)}{(UnknownVariants > UnknownVariantExamples.Count ? ", …" : "")}");
}

/// <summary>
/// Puts telemetry observations on their flags, for every OTLP intake: an observation counts only for a flag
/// FlagAnalyzer knows and a variant that flag has. A variant is a name from the flag's definition; anything else is
/// made up (or from a definition since changed) and would become a cohort no rollout decides on — and, one bucket per
/// name, fill the aggregation. Unknown flags are left out here; the caller reports them.
/// </summary>
public static class ObservationResolver
{
    private const int MaxExamples = 10;

    /// <summary>
    /// The flag's variant a telemetry attribute names: the variant of that name, else — some SDKs send a boolean or
    /// number flag's value where the variant belongs ("true") — the one variant whose value it is; else null.
    /// </summary>
    public static string? VariantOf(Flag flag, string reported)
    {
        if ((flag.Variants ?? FlagVariants.Default) is not { ValueKind: JsonValueKind.Object } variants) return null;
        if (variants.TryGetProperty(reported, out _)) return reported;
        string? byValue = null;
        foreach (var v in variants.EnumerateObject())
        {
            if (v.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number) || v.Value.GetRawText() != reported) continue;
            if (byValue is not null) return null; // two variants of that value: which one is unknown
            byValue = v.Name;
        }
        return byValue;
    }

    /// <summary>
    /// The environment an observation counts in (issue 26): the one its resource names, else the sending key's, else the
    /// flag's home. A key scoped to an environment reports for that one only: an observation naming another is turned
    /// away (a staging key cannot write production's evidence), as is one naming no valid environment.
    /// </summary>
    /// <param name="named">The environment the observation's resource names (<see cref="SpanAttribution.EnvironmentOf"/>), or null.</param>
    public static string? EnvironmentOf(string? named, Flag flag, Actor? caller)
    {
        if (!TryNamedEnvironment(named, caller, out var environment)) return null;
        environment ??= flag.TargetEnvironment;
        return EnvironmentNames.IsValid(environment) && caller.Sees(environment) ? environment : null;
    }

    /// <summary>
    /// The part of <see cref="EnvironmentOf"/> that does not depend on the flag: the environment a resource's data counts
    /// in for every flag (<paramref name="named"/>, else the caller's; null when neither: each flag's home), and whether
    /// <paramref name="caller"/> may report for it.
    /// </summary>
    public static bool TryNamedEnvironment(string? named, Actor? caller, out string? environment)
    {
        environment = named ?? caller?.Environment;
        return environment is null || EnvironmentNames.IsValid(environment) && caller.Sees(environment);
    }

    /// <summary>
    /// The flag an OpenFeature key names, looked up once per export in <paramref name="known"/>. Unscoped on purpose:
    /// a key scoped to staging reports staging's evidence of any flag, whatever its home; its boundary is the
    /// environment (<see cref="EnvironmentOf"/>), not the flag. Every OTLP intake looks flags up here.
    /// </summary>
    public static async ValueTask<Flag?> FlagOfAsync(FlagReader flags, Dictionary<string, Flag?> known, string key, CancellationToken ct)
    {
        if (!known.TryGetValue(key, out var flag)) known[key] = flag = await flags.GetByKeyAsync(key, ct);
        return flag;
    }

    /// <summary>Where one observation of a known flag goes: its environment and the flag's variant; null where it is turned away.</summary>
    public readonly record struct Placement(string? Environment, string? Variant);

    /// <summary>
    /// One observation of <paramref name="flag"/>, as every intake places it: the environment first (<see cref="EnvironmentOf"/>;
    /// null: out of scope), then the variant (<see cref="VariantOf"/>; null: not one of the flag's).
    /// </summary>
    public static Placement Place(Flag flag, string reportedVariant, string? namedEnvironment, Actor? caller) =>
        EnvironmentOf(namedEnvironment, flag, caller) is not { } environment
            ? new Placement(null, null)
            : new Placement(environment, VariantOf(flag, reportedVariant));

    public static ResolvedObservations Resolve(IReadOnlyList<FlagObservation> observations, IReadOnlyDictionary<string, Flag?> known, Actor? caller = null)
    {
        var accepted = new List<ResolvedObservation>(observations.Count);
        var unknownVariants = 0;
        var outOfScope = 0;
        List<string>? examples = null, scopeExamples = null;
        foreach (var o in observations)
        {
            if (known[o.FlagKey] is not { } flag) continue;
            var (environment, variant) = Place(flag, o.Variant, o.Environment, caller);
            if (environment is null)
            {
                outOfScope++;
                var example = $"{o.FlagKey}@{o.Environment}";
                if ((scopeExamples ??= []).Count < MaxExamples && !scopeExamples.Contains(example)) scopeExamples.Add(example);
                continue;
            }
            if (variant is null)
            {
                unknownVariants++;
                if ((examples ??= []).Count < MaxExamples && !examples.Contains($"{o.FlagKey}/{o.Variant}")) examples.Add($"{o.FlagKey}/{o.Variant}");
                continue;
            }
            var cohort = variant == TraceIntake.ControlVariantOf(flag) ? Cohort.Control : Cohort.Treatment;
            accepted.Add(new ResolvedObservation(flag.Id, cohort, variant == o.Variant ? o : o with { Variant = variant }, environment));
        }
        return new ResolvedObservations(accepted, unknownVariants, examples ?? []) { OutOfScope = outOfScope, OutOfScopeExamples = scopeExamples ?? [] };
    }
}
