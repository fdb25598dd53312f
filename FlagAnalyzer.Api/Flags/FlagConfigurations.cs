using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// How a flag's configurations relate to its seed shape: the seed-shaped <see cref="Flag"/> carries its home
/// environment's configuration in its own fields (<see cref="HomeOf"/> / <see cref="WithHome"/>), and a configuration of
/// any environment can be seen as the flag evaluated there (<see cref="View"/>), which is what the definition check,
/// the diff and the predictor take.
/// </summary>
public static class FlagConfigurations
{
    /// <summary>The fields a configuration holds, as they appear in diffs, promotions and the change log.</summary>
    public static readonly IReadOnlyList<string> Fields = ["enabled", "rolloutPercentage", "targeting", "defaultVariant", "offVariant", "autoRollback"];

    /// <summary>The home configuration the seed-shaped flag shows (version and time left to the caller).</summary>
    public static FlagConfiguration HomeOf(Flag f, long version = 1) => new()
    {
        Environment = f.TargetEnvironment, Enabled = f.Enabled, RolloutPercentage = f.RolloutPercentage, Targeting = f.Targeting,
        DefaultVariant = f.DefaultVariant, OffVariant = f.OffVariant, AutoRollback = f.AutoRollback, Version = version, UpdatedAt = f.UpdatedAt,
    };

    /// <summary>A new environment's configuration of the flag: disabled, no rollout, no targeting, the same variants.</summary>
    public static FlagConfiguration Disabled(Flag f, string environment, DateTimeOffset at, long version = 1) => new()
    {
        Environment = environment, Enabled = false, RolloutPercentage = 0, Targeting = null,
        DefaultVariant = f.DefaultVariant, OffVariant = f.OffVariant, AutoRollback = false, Version = version, UpdatedAt = at,
    };

    /// <summary>The seed-shaped flag with <paramref name="c"/> as its home configuration.</summary>
    public static Flag WithHome(Flag f, FlagConfiguration c) => f with
    {
        Enabled = c.Enabled, RolloutPercentage = c.RolloutPercentage, Targeting = c.Targeting, DefaultVariant = c.DefaultVariant,
        OffVariant = c.OffVariant, AutoRollback = c.AutoRollback,
    };

    /// <summary>The flag as it is served in <paramref name="c"/>'s environment.</summary>
    public static Flag View(Flag f, FlagConfiguration c) => WithHome(f, c) with { TargetEnvironment = c.Environment };

    /// <summary>Whether two configurations serve the same (versions and times aside).</summary>
    public static bool SameSettings(FlagConfiguration a, FlagConfiguration b) =>
        a.Enabled == b.Enabled && a.RolloutPercentage.Equals(b.RolloutPercentage) && a.DefaultVariant == b.DefaultVariant
        && a.OffVariant == b.OffVariant && a.AutoRollback == b.AutoRollback && JsonNode.DeepEquals(Node(a.Targeting), Node(b.Targeting));

    /// <summary><paramref name="target"/> with <paramref name="source"/>'s settings (a promotion copies every configuration field).</summary>
    public static FlagConfiguration CopySettings(FlagConfiguration target, FlagConfiguration source) => target with
    {
        Enabled = source.Enabled, RolloutPercentage = source.RolloutPercentage, Targeting = source.Targeting,
        DefaultVariant = source.DefaultVariant, OffVariant = source.OffVariant, AutoRollback = source.AutoRollback,
    };

    public static FlagConfiguration Apply(FlagConfiguration c, PatchConfigurationRequest p) => c with
    {
        Enabled = p.Enabled ?? c.Enabled,
        RolloutPercentage = p.RolloutPercentage ?? c.RolloutPercentage,
        // {} is flagd's "no targeting": it clears the rule
        Targeting = p.Targeting is { ValueKind: JsonValueKind.Object } rule ? (rule.EnumerateObject().Any() ? rule : null) : c.Targeting,
        DefaultVariant = p.DefaultVariant ?? c.DefaultVariant,
        OffVariant = p.OffVariant ?? c.OffVariant,
        AutoRollback = p.AutoRollback ?? c.AutoRollback,
    };

    /// <summary>The fields that differ, each with its value in <paramref name="from"/> and in <paramref name="to"/>, in <see cref="Fields"/> order.</summary>
    public static List<ConfigurationFieldChange> Diff(FlagConfiguration from, FlagConfiguration to)
    {
        var a = State(from);
        var b = State(to);
        var changes = new List<ConfigurationFieldChange>();
        foreach (var field in Fields)
            if (!JsonNode.DeepEquals(a[field], b[field]))
                changes.Add(new ConfigurationFieldChange(field, ToElement(a[field]), ToElement(b[field])));
        return changes;
    }

    private static JsonObject State(FlagConfiguration c) => new()
    {
        ["enabled"] = c.Enabled,
        ["rolloutPercentage"] = c.RolloutPercentage,
        ["targeting"] = Node(c.Targeting),
        ["defaultVariant"] = c.DefaultVariant,
        ["offVariant"] = c.OffVariant,
        ["autoRollback"] = c.AutoRollback,
    };

    private static JsonNode? Node(JsonElement? e) =>
        e is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } v ? JsonNode.Parse(v.GetRawText()) : null;

    private static JsonElement ToElement(JsonNode? n) => JsonSerializer.SerializeToElement(n, Common.Json.Options);
}

/// <summary>A partial update of one environment's configuration: absent (or null) fields stay as they are.</summary>
public sealed record PatchConfigurationRequest(bool? Enabled, double? RolloutPercentage, JsonElement? Targeting, string? DefaultVariant,
    string? OffVariant, bool? AutoRollback, string? ChangedBy);

/// <summary>Copy <see cref="From"/>'s configuration into the route's environment.</summary>
public sealed record PromoteRequest(string? From, string? ChangedBy);

/// <summary>One field a promotion would change: its value in the target now (<see cref="From"/>) and after (<see cref="To"/>).</summary>
public sealed record ConfigurationFieldChange(string Field, JsonElement From, JsonElement To);

/// <summary>What a promotion from <see cref="From"/> to <see cref="To"/> would apply; <see cref="FromRevision"/> is the source configuration's version.</summary>
public sealed record PromotionDiff(string From, string To, long FromRevision, IReadOnlyList<ConfigurationFieldChange> Changes);

/// <summary>A flag's configurations in the environments' promotion order.</summary>
public sealed record FlagConfigurationList(IReadOnlyList<FlagConfiguration> Items);

/// <summary>
/// A flag as one environment serves it (<c>GET /api/environments/{environment}/flags</c>): the definition, its home
/// (<see cref="TargetEnvironment"/>), and the configuration of <see cref="Environment"/>, whose version is <see cref="Version"/>.
/// </summary>
public sealed record EnvironmentFlag
{
    public required string Id { get; init; }
    public required string Key { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public string Owner { get; init; } = "";
    public IReadOnlyList<string> Tags { get; init; } = [];
    public JsonElement? Variants { get; init; }
    public JsonElement? Rules { get; init; }
    public required string TargetEnvironment { get; init; }
    public required string Environment { get; init; }
    public bool Enabled { get; init; }
    public double RolloutPercentage { get; init; }
    public JsonElement? Targeting { get; init; }
    public string DefaultVariant { get; init; } = FlagVariants.On;
    public string OffVariant { get; init; } = FlagVariants.Off;
    public bool AutoRollback { get; init; }
    public long Version { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    public static EnvironmentFlag Of(Flag f, FlagConfiguration c) => new()
    {
        Id = f.Id, Key = f.Key, Name = f.Name, Description = f.Description, Owner = f.Owner, Tags = f.Tags, Variants = f.Variants, Rules = f.Rules,
        TargetEnvironment = f.TargetEnvironment, Environment = c.Environment, Enabled = c.Enabled, RolloutPercentage = c.RolloutPercentage,
        Targeting = c.Targeting, DefaultVariant = c.DefaultVariant, OffVariant = c.OffVariant, AutoRollback = c.AutoRollback,
        Version = c.Version, CreatedAt = f.CreatedAt, UpdatedAt = c.UpdatedAt,
    };
}

public sealed record EnvironmentFlagList(IReadOnlyList<EnvironmentFlag> Items);
