using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>What a mutation changed, as the before/after values of the changed fields, and what kind of change it is.</summary>
public static class FlagDiff
{
    private static JsonObject State(Flag f) => new()
    {
        ["name"] = f.Name,
        ["key"] = f.Key,
        ["description"] = f.Description,
        ["enabled"] = f.Enabled,
        ["rolloutPercentage"] = f.RolloutPercentage,
        ["targetEnvironment"] = f.TargetEnvironment,
        ["owner"] = f.Owner,
        ["tags"] = new JsonArray([.. f.Tags.Select(t => (JsonNode?)JsonValue.Create(t))]),
        ["autoRollback"] = f.AutoRollback,
        ["variants"] = f.Variants is { } v ? JsonNode.Parse(v.GetRawText()) : null,
        ["rules"] = f.Rules is { } r ? JsonNode.Parse(r.GetRawText()) : null,
        ["defaultVariant"] = f.DefaultVariant,
        ["offVariant"] = f.OffVariant,
        ["targeting"] = f.Targeting is { } t ? JsonNode.Parse(t.GetRawText()) : null,
    };

    public static JsonElement Snapshot(Flag f) => ToElement(State(f));

    /// <summary>The changed fields before and after; both empty when nothing changed.</summary>
    public static (JsonObject Previous, JsonObject Next) Changed(Flag before, Flag after)
    {
        var b = State(before);
        var a = State(after);
        JsonObject prev = [], next = [];
        foreach (var (key, value) in a)
        {
            if (JsonNode.DeepEquals(value, b[key])) continue;
            prev[key] = b[key]?.DeepClone();
            next[key] = value?.DeepClone();
        }
        return (prev, next);
    }

    /// <summary>Enabling or disabling dominates; a rollout move alone is <c>rollout_changed</c>; anything else <c>updated</c>.</summary>
    public static ChangeType Classify(Flag before, Flag after) =>
        before.Enabled != after.Enabled ? (after.Enabled ? ChangeType.Enabled : ChangeType.Disabled)
        : before.RolloutPercentage != after.RolloutPercentage ? ChangeType.RolloutChanged
        : ChangeType.Updated;

    public static Flag Apply(Flag f, PatchFlagRequest p) => f with
    {
        Name = p.Name ?? f.Name,
        Description = p.Description ?? f.Description,
        Enabled = p.Enabled ?? f.Enabled,
        RolloutPercentage = p.RolloutPercentage ?? f.RolloutPercentage,
        TargetEnvironment = p.TargetEnvironment ?? f.TargetEnvironment,
        Owner = p.Owner ?? f.Owner,
        Tags = p.Tags is { } t ? t.Select(x => x.Trim()).Distinct().ToList() : f.Tags,
        AutoRollback = p.AutoRollback ?? f.AutoRollback,
        Variants = Present(p.Variants) ? p.Variants : f.Variants,
        Rules = Present(p.Rules) ? p.Rules : f.Rules,
        Key = p.Key ?? f.Key,
        DefaultVariant = p.DefaultVariant ?? f.DefaultVariant,
        OffVariant = p.OffVariant ?? f.OffVariant,
        // {} is flagd's "no targeting": it clears the rule
        Targeting = p.Targeting is { ValueKind: JsonValueKind.Object } rule ? (rule.EnumerateObject().Any() ? rule : null) : f.Targeting,
    };

    private static bool Present(JsonElement? e) => e is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) };

    public static JsonElement ToElement(JsonNode node) => JsonSerializer.SerializeToElement(node, Json.Options);
}
