using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.ChangeRequests;

/// <summary>What a decision did: exactly one of these.</summary>
public abstract record DecisionResult
{
    private DecisionResult() { }

    public sealed record Done(ChangeRequest ChangeRequest) : DecisionResult;

    /// <summary>No such request, or one of an environment the caller's key does not reach (the scope rule: it does not exist for it).</summary>
    public sealed record NotFound : DecisionResult;

    public sealed record Forbidden(string Detail) : DecisionResult;

    /// <summary>Already decided (by someone else, or just now by a concurrent decision); nothing changed.</summary>
    public sealed record AlreadyDecided(ChangeRequest ChangeRequest) : DecisionResult;

    /// <summary>The flag moved since the request was made (or is gone): the request is now <c>conflicted</c> and nothing was applied.</summary>
    public sealed record Conflicted(ChangeRequest ChangeRequest, string Detail) : DecisionResult;
}

/// <summary>
/// Lists and decides change requests (issue 27). Four eyes: the author's key may cancel its request, and only another
/// editor or admin key reaching the environment may approve or reject it. An approval applies the stored patch through
/// <see cref="FlagService.PatchWithinAsync"/> — the same write path, gate skipped — with If-Match on the version the
/// request was made against, in the transaction that records the decision; a flag that moved since makes the request
/// <c>conflicted</c> and applies nothing. Targets of folders above this one (Rollouts' plans, actions, rollbacks and
/// schedules) are applied by their <see cref="IChangeRequestApplier"/>, in the same transaction and with the same rules.
/// </summary>
public sealed class ChangeRequestService(Db db, FlagService flags, ILiveEventPublisher live, TimeProvider clock, IEnumerable<IChangeRequestApplier> appliers,
    IEventOutbox? outbox = null)
{
    public async Task<List<ChangeRequest>> ListAsync(Actor? actor, ChangeRequestFilter filter, string? after, int take, CancellationToken ct)
    {
        // a scoped key lists its own environment's requests: asking for another gives none, as if there were none
        if (actor?.Environment is { } own)
        {
            if (filter.Environment is not null && filter.Environment != own) return [];
            filter = filter with { Environment = own };
        }
        await using var conn = await db.OpenAsync(ct);
        return await ChangeRequestStore.ListAsync(conn, filter, after, take, ct);
    }

    public async Task<ChangeRequest?> GetAsync(Actor? actor, string id, CancellationToken ct) =>
        await FindAsync(actor, id, ct) is { } row ? row.ToResource() : null;

    private async Task<ChangeRequestStore.Row?> FindAsync(Actor? actor, string id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await ChangeRequestStore.GetAsync(conn, null, id, ct) is { } row && actor.Sees(row.Environment) ? row : null;
    }

    /// <summary>Whether <paramref name="actor"/> is the key that made the request (with authentication disabled, everyone is one caller).</summary>
    private static bool IsAuthor(Actor? actor, ChangeRequestStore.Row row) =>
        actor?.KeyId is { } key ? key == row.AuthorKeyId : row.AuthorKeyId is null && (actor?.Name ?? Actor.Unauthenticated.Name) == row.AuthorName;

    public async Task<DecisionResult> ApproveAsync(string id, Actor? actor, CancellationToken ct)
    {
        if (await FindAsync(actor, id, ct) is not { } seen) return new DecisionResult.NotFound();
        if (seen.State != ChangeRequestStates.Pending) return new DecisionResult.AlreadyDecided(seen.ToResource());
        if (IsAuthor(actor, seen))
            return new DecisionResult.Forbidden("Four eyes: the key that made a change request may not approve it; another editor or admin key must.");

        ChangeRequest decided;
        Func<CancellationToken, Task>? afterCommit = null;
        string? conflict = null;
        // no lock up front: the flag's lock is taken by the patch's own read (FindForWriteAsync), as a PATCH takes it
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            var by = actor?.Name ?? Actor.Unauthenticated.Name;
            string? changeId = null;
            if (seen.Target is ChangeGateTargets.Flag or ChangeGateTargets.Configuration)
            {
                var outcome = seen.Target == ChangeGateTargets.Flag
                    ? await flags.PatchWithinAsync(s, new PatchFlagCommand(seen.FlagId,
                        JsonSerializer.Deserialize<PatchFlagRequest>(seen.Patch, Json.Options) ?? throw new InvalidOperationException($"Change request {id} has no patch."),
                        seen.BaseVersion, seen.ChangedBy) { Actor = seen.Author, ApprovedBy = by }, ct)
                    // one environment's configuration, If-Match on the configuration's version it was made against
                    : await flags.PatchConfigurationWithinAsync(s, new PatchConfigurationCommand(seen.FlagId, seen.Environment,
                        JsonSerializer.Deserialize<PatchConfigurationRequest>(seen.Patch, Json.Options) ?? throw new InvalidOperationException($"Change request {id} has no patch."),
                        seen.BaseVersion, seen.ChangedBy) { Actor = seen.Author, ApprovedBy = by }, ct);
                switch (outcome.Result)
                {
                    case FlagWriteResult.Done done:
                        changeId = done.Change?.Id;
                        break;
                    case FlagWriteResult.ConfigurationDone done:
                        changeId = done.Change?.Id;
                        break;
                    case FlagWriteResult.Stale stale:
                        conflict = $"The flag is at version {stale.CurrentVersion}; the request was made against version {seen.BaseVersion}. Nothing was applied; make the change again.";
                        break;
                    case FlagWriteResult.NotFound:
                        conflict = "The flag no longer exists (or is no longer in the author's reach). Nothing was applied.";
                        break;
                    case var other:
                        conflict = $"The change can no longer be applied as requested ({other.GetType().Name}). Nothing was applied.";
                        break;
                }
                if (conflict is null) afterCommit = token => outcome.AfterCommitAsync(flags, token);
            }
            else
            {
                var applier = appliers.FirstOrDefault(a => a.Applies(seen.Target))
                    ?? throw new InvalidOperationException($"Change request {id} targets '{seen.Target}', which this build cannot apply.");
                switch (await applier.ApplyAsync(s, seen.Target, seen.ToResource(), seen.Author, by, ct))
                {
                    case AppliedChange.Done done:
                        changeId = done.ChangeId;
                        afterCommit = done.AfterCommit;
                        break;
                    case AppliedChange.Conflicted c:
                        conflict = c.Detail;
                        break;
                }
            }
            var now = clock.GetUtcNow();
            var state = conflict is null ? ChangeRequestStates.Applied : ChangeRequestStates.Conflicted;
            if (!await ChangeRequestStore.DecideAsync(s, id, state, actor, null, changeId, now, ct))
                return new DecisionResult.AlreadyDecided((await ChangeRequestStore.GetAsync(s.Connection, s.Transaction, id, ct))!.ToResource());
            decided = (await ChangeRequestStore.GetAsync(s.Connection, s.Transaction, id, ct))!.ToResource();
            await ChangeGate.NotifyAsync(s, outbox, ChangeRequestEvents.Decided, decided, by, now, ct);
            await s.CommitAsync(ct);
        }
        if (afterCommit is not null) await afterCommit(ct);
        await ChangeGate.PublishAsync(live, ChangeRequestEvents.Decided, decided, ct);
        return conflict is null ? new DecisionResult.Done(decided) : new DecisionResult.Conflicted(decided, conflict);
    }

    public Task<DecisionResult> RejectAsync(string id, Actor? actor, string? comment, CancellationToken ct) =>
        CloseAsync(id, actor, ChangeRequestStates.Rejected, comment, byAuthor: false, ct);

    public Task<DecisionResult> CancelAsync(string id, Actor? actor, CancellationToken ct) =>
        CloseAsync(id, actor, ChangeRequestStates.Cancelled, null, byAuthor: true, ct);

    /// <summary>Rejects (another key) or cancels (the author) a pending request: nothing is applied.</summary>
    private async Task<DecisionResult> CloseAsync(string id, Actor? actor, string state, string? comment, bool byAuthor, CancellationToken ct)
    {
        if (await FindAsync(actor, id, ct) is not { } seen) return new DecisionResult.NotFound();
        if (seen.State != ChangeRequestStates.Pending) return new DecisionResult.AlreadyDecided(seen.ToResource());
        if (IsAuthor(actor, seen) != byAuthor)
            return new DecisionResult.Forbidden(byAuthor
                ? "Only the key that made a change request may cancel it; reject it instead."
                : "The key that made a change request cancels it; another key rejects it.");
        ChangeRequest decided;
        var now = clock.GetUtcNow();
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            if (!await ChangeRequestStore.DecideAsync(s, id, state, actor, comment, null, now, ct))
                return new DecisionResult.AlreadyDecided((await ChangeRequestStore.GetAsync(s.Connection, s.Transaction, id, ct))!.ToResource());
            decided = (await ChangeRequestStore.GetAsync(s.Connection, s.Transaction, id, ct))!.ToResource();
            await ChangeGate.NotifyAsync(s, outbox, ChangeRequestEvents.Decided, decided, actor?.Name, now, ct);
            await s.CommitAsync(ct);
        }
        await ChangeGate.PublishAsync(live, ChangeRequestEvents.Decided, decided, ct);
        return new DecisionResult.Done(decided);
    }
}
