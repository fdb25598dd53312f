using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Environments;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.ChangeRequests;

/// <summary>Live and webhook event names of change requests (the contract of issue 27).</summary>
public static class ChangeRequestEvents
{
    public const string Created = "change_request.created";
    public const string Decided = "change_request.decided";
}

/// <summary>
/// The gate of protected environments (issue 27): in an environment that is not protected every change applies; in a
/// protected one the server itself (the guardian, the scheduler on an approved plan) and the safety actions the
/// environment exempts (by default all: a kill switch — a change whose only move is enabled → false —, the guardian's
/// rollback, a rollout's abort; a safety action the environment does not exempt is held even when the guardian asks) apply, an admin's
/// <c>?bypass=true</c> applies and is logged as <c>bypass</c>, and everything else is stored as a pending change request
/// in the caller's transaction, with its <c>change_request.created</c> notice.
/// </summary>
public sealed class ChangeGate(TimeProvider clock, ILiveEventPublisher live, IEventOutbox? outbox = null) : IChangeGate
{
    public const string BypassReason = "bypass";

    public async Task<ChangeGateDecision> CheckAsync(WriteScope s, ChangeGateRequest r, CancellationToken ct)
    {
        var environment = await EnvironmentStore.GetAsync(s.Connection, s.Transaction, r.Environment, ct);
        if (environment is not { Protected: true }) return new ChangeGateDecision.Proceed();
        if (r.SafetyAction is { } safety)
        {
            if (environment.ApprovalExemptions.Contains(safety)) return new ChangeGateDecision.Proceed();
        }
        // the server's own steps (the guardian advancing, an approved schedule firing) were approved where they were made
        else if (r.Actor is { Role: "system" }) return new ChangeGateDecision.Proceed();
        if (IsKillSwitch(r.Diff) && environment.ApprovalExemptions.Contains(EnvironmentRules.KillSwitch)) return new ChangeGateDecision.Proceed();
        if (r.OnePending && await ChangeRequestStore.PendingAsync(s, r.Environment, r.Flag.Id, r.Target, ct) is { } pending)
            return new ChangeGateDecision.Held(pending.ToResource(), _ => Task.CompletedTask);
        if (r.Bypass)
        {
            return r.Actor?.Role == "admin"
                ? new ChangeGateDecision.Proceed(BypassReason)
                : new ChangeGateDecision.Refused($"'{r.Environment}' is protected; only an admin key may apply a change directly with bypass=true.");
        }

        var author = r.Actor ?? Actor.Unauthenticated;
        var row = new ChangeRequestStore.Row
        {
            Id = Ids.New("cr", clock), Environment = r.Environment, FlagId = r.Flag.Id, FlagKey = r.Flag.Key, FlagName = r.Flag.Name,
            Target = r.Target, Patch = r.Patch.GetRawText(), Diff = Json.Serialize(r.Diff), BaseVersion = r.BaseVersion, ChangedBy = r.ChangedBy,
            AuthorKeyId = author.KeyId, AuthorName = author.Name, AuthorRole = author.Role, AuthorEnvironment = author.Environment,
            State = ChangeRequestStates.Pending, CreatedAt = Time.ToMs(clock.GetUtcNow()),
        };
        await ChangeRequestStore.InsertAsync(s, row, ct);
        var request = row.ToResource();
        await NotifyAsync(s, outbox, ChangeRequestEvents.Created, request, author.Name, clock.GetUtcNow(), ct);
        return new ChangeGateDecision.Held(request, token => PublishAsync(live, ChangeRequestEvents.Created, request, token));
    }

    public async Task<ChangeGateDecision> CheckDirectAsync(WriteScope s, string environment, Actor? actor, bool bypass, string what, CancellationToken ct)
    {
        if (await EnvironmentStore.GetAsync(s.Connection, s.Transaction, environment, ct) is not { Protected: true }) return new ChangeGateDecision.Proceed();
        if (actor is { Role: "system" }) return new ChangeGateDecision.Proceed();
        if (bypass && actor?.Role == "admin") return new ChangeGateDecision.Proceed(BypassReason);
        return new ChangeGateDecision.Refused(bypass
            ? $"'{environment}' is protected; only an admin key may apply {what} directly with bypass=true."
            : $"'{environment}' is protected and {what} cannot wait for an approval: an admin key may apply it with ?bypass=true (logged as such), " +
              "or make the changes one flag at a time, each held as a change request for a second person's approval.");
    }

    /// <summary>The kill switch: the change turns the flag off and moves nothing else.</summary>
    public static bool IsKillSwitch(IReadOnlyList<FieldChange> diff) =>
        diff.Count == 1 && diff[0] is { Field: "enabled", To.ValueKind: JsonValueKind.False };

    /// <summary>The durable notice, in the transaction that commits the request or its decision (none when nothing delivers them).</summary>
    internal static async Task NotifyAsync(WriteScope s, IEventOutbox? outbox, string type, ChangeRequest request, string? actor, DateTimeOffset at,
        CancellationToken ct)
    {
        if (outbox is null) return;
        await outbox.EnlistAsync(s.Connection, s.Transaction, new NoticeEvent(type, request.Environment, request.Flag.Id, request.Flag.Key,
            request.Flag.Name, actor, JsonSerializer.SerializeToElement(request, Json.Options), at), ct);
    }

    internal static Task PublishAsync(ILiveEventPublisher live, string type, ChangeRequest request, CancellationToken ct) =>
        live.PublishAsync(new LiveEvent(type, request, request.Flag.Id) { Environment = request.Environment }, ct).AsTask();
}
