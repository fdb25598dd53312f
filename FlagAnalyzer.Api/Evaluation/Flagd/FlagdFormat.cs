using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Evaluation.JsonLogic;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Api.Evaluation.Flagd;

/// <summary>
/// flagd flag-set files (flagd.dev/schema/v0/flags.json): <c>flags</c> as an object keyed by flag key or as an
/// array of flags with <c>key</c>; <c>$evaluators</c> shared by <c>{"$ref": name}</c>, expanded on import as
/// flagd does. Errors are keyed <c>flags.{key}.{path}</c>.
/// </summary>
public static class FlagdFormat
{
    public const string Schema = "https://flagd.dev/schema/v0/flags.json";

    public static (List<FlagImport> Flags, Validator Errors) Parse(JsonElement file)
    {
        var errors = new Validator();
        var result = new List<FlagImport>();
        if (file.ValueKind != JsonValueKind.Object) { errors.Add("$", "a flagd file is a JSON object with \"flags\""); return (result, errors); }

        var evaluators = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (file.TryGetProperty("$evaluators", out var ev))
        {
            if (ev.ValueKind != JsonValueKind.Object) errors.Add("$evaluators", "must be an object of named rules");
            else foreach (var p in ev.EnumerateObject()) evaluators[p.Name] = p.Value;
        }

        if (!file.TryGetProperty("flags", out var flags)) { errors.Add("flags", "is required"); return (result, errors); }
        IEnumerable<(string Key, string Path, JsonElement Flag)> entries;
        if (flags.ValueKind == JsonValueKind.Object)
            entries = flags.EnumerateObject().Select(p => (p.Name, $"flags.{p.Name}", p.Value));
        else if (flags.ValueKind == JsonValueKind.Array)
            entries = flags.EnumerateArray().Select((f, i) =>
                f.ValueKind == JsonValueKind.Object && f.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String
                    ? (k.GetString()!, $"flags.{k.GetString()}", f) : ("", $"flags[{i}]", f));
        else { errors.Add("flags", "must be an object keyed by flag key, or an array of flags with \"key\""); return (result, errors); }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, path, flag) in entries)
        {
            if (key.Length == 0) { errors.Add($"{path}.key", "is required"); continue; }
            if (!seen.Add(key)) { errors.Add(path, "appears twice"); continue; }
            if (flag.ValueKind != JsonValueKind.Object) { errors.Add(path, "must be an object"); continue; }
            var state = flag.TryGetProperty("state", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString() : null;
            if (state is not ("ENABLED" or "DISABLED")) errors.Add($"{path}.state", "must be ENABLED or DISABLED");
            if (!flag.TryGetProperty("variants", out var variants) || variants.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{path}.variants", "must be an object of variant name to value");
                continue;
            }
            var defaultVariant = flag.TryGetProperty("defaultVariant", out var dv) && dv.ValueKind == JsonValueKind.String ? dv.GetString() : null;
            if (defaultVariant is null) { errors.Add($"{path}.defaultVariant", "is required here: FlagAnalyzer always serves a value"); continue; }

            JsonElement? targeting = null;
            if (flag.TryGetProperty("targeting", out var t) && !FlagDefaults.IsEmptyTargeting(t))
            {
                try
                {
                    JsonLogicCompiler.Compile(t, $"{path}.targeting", evaluators);
                    targeting = Expand(t, evaluators);
                }
                catch (JsonLogicException ex)
                {
                    errors.Add(ex.Path, ex.Reason);
                    continue;
                }
            }
            if (state is "ENABLED" or "DISABLED")
                result.Add(new FlagImport(key, state == "ENABLED", variants.Clone(), defaultVariant, targeting));
        }
        return (result, errors);
    }

    /// <summary>Replaces every <c>{"$ref": name}</c> by a copy of that evaluator (already validated by the compiler).</summary>
    private static JsonElement Expand(JsonElement rule, IReadOnlyDictionary<string, JsonElement> evaluators)
    {
        JsonNode? Walk(JsonNode? n) => n switch
        {
            JsonObject o when o.Count == 1 && o["$ref"] is JsonValue v && v.TryGetValue<string>(out var name) =>
                Walk(JsonNode.Parse(evaluators[name].GetRawText())),
            JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Walk(p.Value)))),
            JsonArray a => new JsonArray([.. a.Select(Walk)]),
            _ => n?.DeepClone(),
        };
        return JsonSerializer.SerializeToElement(Walk(JsonNode.Parse(rule.GetRawText())));
    }

    /// <summary>
    /// The flags as a flagd file. A partial rollout becomes flagd's <c>fractional</c> over 10 000 buckets, which
    /// buckets exactly as the rollout does (same hash of flag key + targeting key); existing targeting is tried first.
    /// </summary>
    public static JsonObject Export(IEnumerable<Flag> flags)
    {
        var map = new JsonObject();
        foreach (var f in flags.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var key = f.Key is { Length: > 0 } k ? k : f.Name;
            var entry = new JsonObject
            {
                ["state"] = f.Enabled ? "ENABLED" : "DISABLED",
                ["variants"] = JsonNode.Parse((f.Variants ?? FlagVariants.Default).GetRawText()),
                ["defaultVariant"] = f.DefaultVariant,
            };
            var targeting = f.Targeting is { } t ? JsonNode.Parse(t.GetRawText()) : null;
            var threshold = Bucketing.RolloutThreshold(f.RolloutPercentage);
            if (threshold < Bucketing.RolloutBuckets)
            {
                JsonNode split = threshold == 0
                    ? new JsonObject { ["if"] = new JsonArray(true, f.OffVariant) }
                    : new JsonObject
                    {
                        ["fractional"] = new JsonArray(
                            new JsonArray(f.DefaultVariant, threshold),
                            new JsonArray(f.OffVariant, Bucketing.RolloutBuckets - threshold)),
                    };
                targeting = targeting is null ? split : new JsonObject { ["or"] = new JsonArray(targeting, split) };
            }
            if (targeting is not null) entry["targeting"] = targeting;
            entry["metadata"] = new JsonObject
            {
                ["flagAnalyzerId"] = f.Id,
                ["name"] = f.Name,
                ["environment"] = f.TargetEnvironment,
                ["offVariant"] = f.OffVariant,
            };
            map[key] = entry;
        }
        return new JsonObject { ["$schema"] = Schema, ["flags"] = map };
    }
}
