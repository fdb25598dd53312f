using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>One field a change moves: <c>{ field, from, to }</c>, the shape of a promotion's diff too.</summary>
public sealed record FieldChange(string Field, JsonElement? From, JsonElement? To);

/// <summary>
/// A configuration change about to be written (issue 27): in <see cref="Environment"/>, to <see cref="Flag"/>, the
/// request's own <see cref="Patch"/> (stored as sent, applied again on approval), made against <see cref="BaseVersion"/>
/// (the version an approval's If-Match names), moving <see cref="Diff"/>, by <see cref="Actor"/>.
/// </summary>
/// <param name="Target">Which write path applies the patch on approval: <c>flag</c> (the seed-shaped PATCH of the home environment).</param>
public sealed record ChangeGateRequest(string Environment, Flag Flag, string Target, JsonElement Patch, long BaseVersion,
    IReadOnlyList<FieldChange> Diff, Actor? Actor, string ChangedBy)
{
    /// <summary>The caller asked to apply directly (<c>?bypass=true</c>); only an admin may.</summary>
    public bool Bypass { get; init; }

    /// <summary>
    /// The safety action this change is (<c>guardian_rollback</c>, <c>rollout_abort</c>): it applies directly when the
    /// environment exempts it, and is held otherwise — even when the server itself (the guardian) asks.
    /// </summary>
    public string? SafetyAction { get; init; }

    /// <summary>
    /// At most one pending request of this <see cref="Target"/> per flag and environment: when one is pending, the gate
    /// answers Held with it and stores nothing (the guardian asks again on every detection pass).
    /// </summary>
    public bool OnePending { get; init; }
}

/// <summary>The write paths a change request can be applied through (<see cref="ChangeGateRequest.Target"/>).</summary>
public static class ChangeGateTargets
{
    /// <summary>The seed-shaped PATCH of the home environment (the patch is a <see cref="PatchFlagRequest"/>).</summary>
    public const string Flag = "flag";
    /// <summary>One environment's configuration (the patch is a <see cref="PatchConfigurationRequest"/>; a promotion is held as one).</summary>
    public const string Configuration = "configuration";
}

/// <summary>What the gate decided; exactly one of these.</summary>
public abstract record ChangeGateDecision
{
    private ChangeGateDecision() { }

    /// <summary>Write it now. <see cref="Reason"/> goes on the change row (<c>bypass</c> when an admin bypassed approval).</summary>
    public sealed record Proceed(string? Reason = null) : ChangeGateDecision;

    /// <summary>
    /// Not written: a pending change request was stored in the caller's transaction. The caller commits (nothing else),
    /// then runs <see cref="AfterCommit"/> (the live event) and answers 202 with <see cref="ChangeRequest"/>.
    /// </summary>
    public sealed record Held(ChangeRequest ChangeRequest, Func<CancellationToken, Task> AfterCommit) : ChangeGateDecision;

    /// <summary>Refused (403), nothing stored: e.g. <c>?bypass=true</c> from a key that is not an admin's.</summary>
    public sealed record Refused(string Detail) : ChangeGateDecision;
}

/// <summary>
/// The one check every configuration write path makes before it writes, inside its transaction (holding the flag's lock):
/// in a protected environment a change is held for a second person's approval. Implemented by ChangeRequests; null (no
/// gate) means every change applies.
/// </summary>
public interface IChangeGate
{
    Task<ChangeGateDecision> CheckAsync(WriteScope s, ChangeGateRequest request, CancellationToken ct);

    /// <summary>
    /// A write that cannot wait for an approval (an import: all or nothing across many flags) into
    /// <paramref name="environment"/>: Proceed where it is not protected, Proceed("bypass") for an admin's
    /// <c>?bypass=true</c>, else Refused with a detail that names the environment and the two ways forward.
    /// </summary>
    Task<ChangeGateDecision> CheckDirectAsync(WriteScope s, string environment, Actor? actor, bool bypass, string what, CancellationToken ct);
}

/// <summary>The flag a change request is about, as the API shows it.</summary>
public sealed record ChangeRequestFlag(string Id, string Key, string Name);

/// <summary>Who made or decided a change request: the key's id and name.</summary>
public sealed record ChangeRequestActor(string? KeyId, string Name);

/// <summary>A change request as the API shows it (<c>GET /api/change-requests/{id}</c>, and the 202 of a held change).</summary>
public sealed record ChangeRequest
{
    public required string Id { get; init; }
    /// <summary>pending, applied, rejected, cancelled or conflicted.</summary>
    public required string State { get; init; }
    public required string Environment { get; init; }
    public required ChangeRequestFlag Flag { get; init; }
    public required IReadOnlyList<FieldChange> Diff { get; init; }
    public JsonElement Patch { get; init; }
    public long BaseVersion { get; init; }
    public required ChangeRequestActor Author { get; init; }
    public string ChangedBy { get; init; } = "api";
    public DateTimeOffset CreatedAt { get; init; }
    public ChangeRequestActor? DecidedBy { get; init; }
    public DateTimeOffset? DecidedAt { get; init; }
    public string? Comment { get; init; }
    /// <summary>The change-log row the approval wrote (null until applied, or when the flag already matched).</summary>
    public string? AppliedChangeId { get; init; }
}

/// <summary>The 202 answer of a held change.</summary>
public sealed record HeldChangeResponse(ChangeRequest ChangeRequest);
