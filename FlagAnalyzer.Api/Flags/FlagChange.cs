using System.Text.Json;
using System.Text.Json.Serialization;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Flags;

/// <summary>One row of the append-only audit log; every flag mutation writes exactly one.</summary>
public sealed record FlagChange
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    public required string FlagName { get; init; }
    public required ChangeType ChangeType { get; init; }
    public JsonElement? PreviousValue { get; init; }
    public JsonElement? NewValue { get; init; }
    /// <summary>"On behalf of": what the request body or <c>X-Changed-By</c> claimed; <see cref="ActorKeyId"/> says who really called.</summary>
    public string ChangedBy { get; init; } = "api";
    /// <summary>The API key that made the change; null when none did (the guardian, or authentication disabled).</summary>
    public string? ActorKeyId { get; init; }
    /// <summary>That key's name, or the system actor's (<c>guardian</c>).</summary>
    public string? ActorName { get; init; }
    public string Environment { get; init; } = FlagEnvironments.Development;
    public DateTimeOffset Timestamp { get; init; }
    public string? PredictionId { get; init; }
    /// <summary>Why the change was made, when the system made it (e.g. the anomaly behind a rollback).</summary>
    public string? Reason { get; init; }
    /// <summary>The key name that approved the change request this change applied (issue 27, four eyes); null otherwise.</summary>
    public string? ApprovedBy { get; init; }

    /// <summary>
    /// The change's place in the change feed: unique and increasing in commit order across the deployment. Set when its
    /// transaction commits (<see cref="ChangeFeed"/>), so a change still being written has 0.
    /// </summary>
    [JsonInclude]
    public long Revision { get; internal set; }
}

/// <summary>What a change did to its flag; wire words in snake_case.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeType>))]
public enum ChangeType
{
    [JsonStringEnumMemberName("created")] Created,
    [JsonStringEnumMemberName("enabled")] Enabled,
    [JsonStringEnumMemberName("disabled")] Disabled,
    [JsonStringEnumMemberName("rollout_changed")] RolloutChanged,
    [JsonStringEnumMemberName("updated")] Updated,
    [JsonStringEnumMemberName("deleted")] Deleted,
    [JsonStringEnumMemberName("rolled_back")] RolledBack,
}

/// <summary>The wire words of <see cref="ChangeType"/>.</summary>
public static class ChangeTypes
{
    public static IReadOnlyList<ChangeType> All => WireNames<ChangeType>.All;
    public static bool TryParse(string? text, out ChangeType type) => WireNames<ChangeType>.TryParse(text, out type);

    /// <summary>Types a client may record through <c>POST /api/flags/change</c>; create and delete have their own verbs.</summary>
    public static readonly IReadOnlyList<ChangeType> Recordable =
        [ChangeType.Enabled, ChangeType.Disabled, ChangeType.RolloutChanged, ChangeType.Updated, ChangeType.RolledBack];

    public static bool IsRecordable(this ChangeType type) => Recordable.Contains(type);
}
