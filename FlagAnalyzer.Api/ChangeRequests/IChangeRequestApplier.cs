using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.ChangeRequests;

/// <summary>
/// Applies approved change requests of targets that a folder above ChangeRequests holds (Rollouts: a plan, a person's
/// rollout action, the guardian's rollback, a schedule), so the approval writes through that folder's own path.
/// Registered in DI; <see cref="ChangeRequestService"/> asks the one whose <see cref="Applies"/> says yes.
/// </summary>
public interface IChangeRequestApplier
{
    bool Applies(string target);

    /// <summary>
    /// Applies <paramref name="request"/> inside the approval's transaction, as <paramref name="author"/> with
    /// <paramref name="approvedBy"/> on the change row, if what it was made against has not moved; writes nothing otherwise.
    /// </summary>
    Task<AppliedChange> ApplyAsync(WriteScope s, string target, ChangeRequest request, Actor author, string approvedBy, CancellationToken ct);
}

/// <summary>What an applier did; exactly one of these.</summary>
public abstract record AppliedChange
{
    private AppliedChange() { }

    /// <summary>Applied; <see cref="AfterCommit"/> runs once the approval committed (live events, caches).</summary>
    public sealed record Done(string? ChangeId, Func<CancellationToken, Task> AfterCommit) : AppliedChange;

    /// <summary>What the request was made against moved (or is gone): nothing was written.</summary>
    public sealed record Conflicted(string Detail) : AppliedChange;
}
