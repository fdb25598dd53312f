using System.Text.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

public sealed record CreateFlagRequest(
    string? Name, string? Description, bool? Enabled, double? RolloutPercentage, string? TargetEnvironment,
    string? Owner, List<string>? Tags, bool? AutoRollback, JsonElement? Variants, JsonElement? Rules, string? ChangedBy)
{
    public string? Key { get; init; }
    public string? DefaultVariant { get; init; }
    public string? OffVariant { get; init; }
    public JsonElement? Targeting { get; init; }
}

/// <summary>A partial update: absent (or null) fields stay as they are.</summary>
public sealed record PatchFlagRequest(
    string? Name, string? Description, bool? Enabled, double? RolloutPercentage, string? TargetEnvironment,
    string? Owner, List<string>? Tags, bool? AutoRollback, JsonElement? Variants, JsonElement? Rules, string? ChangedBy)
{
    public string? Key { get; init; }
    public string? DefaultVariant { get; init; }
    public string? OffVariant { get; init; }
    /// <summary>New targeting; <c>{}</c> removes it (absent or null leaves it as it is, like every patch field).</summary>
    public JsonElement? Targeting { get; init; }
}

/// <summary>The seed's change record: the client says what changed; the flag is brought to <c>newValue</c>.</summary>
public sealed record RecordChangeRequest(
    string? FlagId, string? FlagName, string? ChangeType, JsonElement? PreviousValue, JsonElement? NewValue,
    string? ChangedBy, string? Environment);

public static partial class FlagRules
{
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 2000;
    public const int MaxOwnerLength = 200;
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;
    public const int MaxEnvironmentLength = 50;

    // \z, not $: $ also matches before a final newline, which let "name\n" through
    [GeneratedRegex(@"^[a-z0-9._-]+\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex KeyPattern();

    /// <summary>The OpenFeature key: case-sensitive, as SDK users write it (<c>headerColor</c>).</summary>
    public static void CheckKey(string? key, Validator v)
    {
        if (key is null) return;
        if (key.Length is 0 or > MaxNameLength || !KeyPattern().IsMatch(key))
            v.Add("key", $"must be 1-{MaxNameLength} characters A-Z a-z 0-9 '-' '_' '.'");
    }

    public static void CheckVariantName(string? name, string field, Validator v)
    {
        if (name is { Length: 0 or > MaxNameLength }) v.Add(field, $"must be 1-{MaxNameLength} characters");
    }

    public static void CheckName(string? name, Validator v, string field = "name")
    {
        if (string.IsNullOrEmpty(name)) v.Add(field, "is required");
        else if (name.Length > MaxNameLength) v.Add(field, $"must be at most {MaxNameLength} characters");
        else if (!NamePattern().IsMatch(name)) v.Add(field, "may contain only a-z, 0-9, '-', '_' and '.'");
        else if (ReservedNames.Contains(name)) v.Add(field, $"'{name}' is reserved by the API's routes");
        else if (name is "." or "..") v.Add(field, $"'{name}' cannot be reached by URL (it is a path segment)");
        else if (Ids.LooksLikeId(name)) v.Add(field, "must not look like an id (a prefix, '_' and 26 letters and digits): /api/flags/{id} would be ambiguous");
    }

    /// <summary>Names that would collide with literal routes under <c>/api/flags/</c>.</summary>
    private static readonly HashSet<string> ReservedNames = ["change", "changes", "export", "import"];

    /// <summary>
    /// Free text shown to people: no control characters (line breaks and tabs only where the field is multi-line)
    /// and no bidirectional embeddings, overrides or isolates, which make text display as something it is not.
    /// </summary>
    public static void CheckText(string? value, string field, Validator v, bool multiLine = false)
    {
        if (value is null) return;
        foreach (var c in value)
        {
            if (multiLine && c is '\n' or '\r' or '\t') continue;
            if (char.IsControl(c))
            {
                v.Add(field, multiLine ? "must not contain control characters other than line breaks and tabs" : "must not contain control characters or line breaks");
                return;
            }
            if (c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069')
            {
                v.Add(field, "must not contain bidirectional override, embedding or isolate characters");
                return;
            }
        }
    }

    public static void CheckChangedBy(string? changedBy, Validator v)
    {
        if (changedBy is { Length: > MaxOwnerLength }) v.Add("changedBy", $"must be at most {MaxOwnerLength} characters");
        else CheckText(changedBy, "changedBy", v);
    }

    public static void CheckEnvironment(string? env, Validator v, string field = "targetEnvironment")
    {
        if (env is null) return;
        if (env.Length == 0 || env.Length > MaxEnvironmentLength || !NamePattern().IsMatch(env))
            v.Add(field, $"must be development, staging, production or a custom name of 1-{MaxEnvironmentLength} characters a-z 0-9 - _ .");
    }

    public static void CheckTags(List<string>? tags, Validator v)
    {
        if (tags is null) return;
        if (tags.Count > MaxTags) v.Add("tags", $"at most {MaxTags} tags");
        for (var i = 0; i < tags.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(tags[i]) || tags[i].Length > MaxTagLength)
                v.Add($"tags[{i}]", $"must be 1-{MaxTagLength} non-blank characters");
            else CheckText(tags[i], $"tags[{i}]", v);
        }
    }

    public static void CheckReserved(JsonElement? value, string field, JsonValueKind expected, Validator v)
    {
        if (value is { } e && e.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) && e.ValueKind != expected)
            v.Add(field, $"must be a JSON {(expected == JsonValueKind.Array ? "array" : "object")}");
    }

    public static void CheckCommon(string? description, double? rollout, string? env, string? owner, List<string>? tags,
        JsonElement? variants, JsonElement? rules, Validator v)
    {
        if (description is { Length: > MaxDescriptionLength }) v.Add("description", $"must be at most {MaxDescriptionLength} characters");
        else CheckText(description, "description", v, multiLine: true);
        v.Range(rollout, 0, 100, "rolloutPercentage");
        CheckEnvironment(env, v);
        if (owner is { Length: > MaxOwnerLength }) v.Add("owner", $"must be at most {MaxOwnerLength} characters");
        else CheckText(owner, "owner", v);
        CheckTags(tags, v);
        CheckReserved(variants, "variants", JsonValueKind.Object, v);
        CheckReserved(rules, "rules", JsonValueKind.Array, v);
    }

    public static Validator Validate(CreateFlagRequest r)
    {
        var v = new Validator();
        CheckName(r.Name, v);
        CheckCommon(r.Description, r.RolloutPercentage, r.TargetEnvironment, r.Owner, r.Tags, r.Variants, r.Rules, v);
        CheckEvaluation(r.Key, r.DefaultVariant, r.OffVariant, r.Targeting, v);
        CheckChangedBy(r.ChangedBy, v);
        return v;
    }

    public static Validator Validate(PatchFlagRequest r)
    {
        var v = new Validator();
        if (r.Name is not null) CheckName(r.Name, v);
        CheckCommon(r.Description, r.RolloutPercentage, r.TargetEnvironment, r.Owner, r.Tags, r.Variants, r.Rules, v);
        CheckEvaluation(r.Key, r.DefaultVariant, r.OffVariant, r.Targeting, v);
        CheckChangedBy(r.ChangedBy, v);
        return v;
    }

    /// <summary>Shapes only; whether variants, default/off variant and targeting fit together is checked on the whole flag.</summary>
    private static void CheckEvaluation(string? key, string? defaultVariant, string? offVariant, JsonElement? targeting, Validator v)
    {
        CheckKey(key, v);
        CheckVariantName(defaultVariant, "defaultVariant", v);
        CheckVariantName(offVariant, "offVariant", v);
        if (targeting is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            v.Add("targeting", "must be a JSONLogic object (or {} for none)");
    }

    /// <summary>Validates a change record; the fields of <c>newValue</c> are checked like a patch.</summary>
    public static Validator Validate(RecordChangeRequest r, out PatchFlagRequest? patch) => Validate(r, out patch, out _);

    /// <summary><see cref="Validate(RecordChangeRequest, out PatchFlagRequest?)"/>, with the change type it read.</summary>
    public static Validator Validate(RecordChangeRequest r, out PatchFlagRequest? patch, out ChangeType changeType)
    {
        var v = new Validator();
        patch = null;
        changeType = default;
        if (string.IsNullOrEmpty(r.FlagId) && string.IsNullOrEmpty(r.FlagName)) v.Add("flagId", "flagId or flagName is required");
        if (string.IsNullOrEmpty(r.ChangeType)) v.Add("changeType", "is required");
        else if (!ChangeTypes.TryParse(r.ChangeType, out changeType) || !changeType.IsRecordable())
            v.Add("changeType", $"must be one of {string.Join(", ", ChangeTypes.Recordable.Select(t => t.ToWire()))} (create and delete flags with POST and DELETE)");
        CheckEnvironment(r.Environment, v, "environment");
        CheckChangedBy(r.ChangedBy, v);
        if (r.NewValue is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            v.Add("newValue", "must be a JSON object");
        else if (r.NewValue is { ValueKind: JsonValueKind.Object } nv)
        {
            try
            {
                patch = nv.Deserialize<PatchFlagRequest>(Json.Options);
            }
            catch (JsonException ex)
            {
                v.Add("newValue" + (ex.Path?.TrimStart('$') ?? ""), "has a value of the wrong type");
            }
            if (patch is not null)
            {
                var inner = Validate(patch);
                foreach (var (field, messages) in inner.Errors)
                    foreach (var m in messages) v.Add($"newValue.{field}", m);
            }
        }
        if (r.PreviousValue is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            v.Add("previousValue", "must be a JSON object");
        return v;
    }
}
