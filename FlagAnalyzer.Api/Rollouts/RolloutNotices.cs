using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// A plan's transition (started, advanced, paused, resumed, rolled back, completed, aborted) enlisted as a
/// <c>rollout.updated</c> notice in the transaction that commits it (<see cref="IEventOutbox"/>, issue 27).
/// </summary>
internal static class RolloutNotices
{
    public const string Updated = "rollout.updated";

    public static Task EnlistAsync(IEventOutbox? outbox, WriteScope s, Flag flag, RolloutView view, string actor, CancellationToken ct) =>
        outbox is null ? Task.CompletedTask : outbox.EnlistAsync(s.Connection, s.Transaction,
            new NoticeEvent(Updated, flag.TargetEnvironment, flag.Id, flag.Key, flag.Name, actor, JsonSerializer.SerializeToElement(view, Json.Options),
                view.Plan.UpdatedAt), ct);
}
