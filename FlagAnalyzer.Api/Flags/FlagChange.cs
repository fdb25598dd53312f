using System.Text.Json;

namespace FlagAnalyzer.Api.Flags;

/// <summary>One row of the append-only audit log; every flag mutation writes exactly one.</summary>
public sealed record FlagChange
{
    public required string Id { get; init; }
    public required string FlagId { get; init; }
    public required string FlagName { get; init; }
    public required string ChangeType { get; init; }
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
}

public static class ChangeTypes
{
    public const string Created = "created";
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";
    public const string RolloutChanged = "rollout_changed";
    public const string Updated = "updated";
    public const string Deleted = "deleted";
    public const string RolledBack = "rolled_back";

    public static readonly IReadOnlySet<string> All =
        new HashSet<string>([Created, Enabled, Disabled, RolloutChanged, Updated, Deleted, RolledBack]);

    /// <summary>Types a client may record through <c>POST /api/flags/change</c>; create and delete have their own verbs.</summary>
    public static readonly IReadOnlySet<string> Recordable =
        new HashSet<string>([Enabled, Disabled, RolloutChanged, Updated, RolledBack]);
}
