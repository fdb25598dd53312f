using System.Data.Common;
using System.Text.Json;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Something other than a flag change that people outside hear about (issue 27: <c>anomaly.opened</c>,
/// <c>anomaly.resolved</c>, <c>rollout.updated</c>, <c>change_request.created</c>, <c>change_request.decided</c>).
/// <see cref="Data"/> is the event's own payload (the anomaly, the plan, the change request as the API shows it).
/// </summary>
public sealed record NoticeEvent(string Type, string Environment, string? FlagId, string? FlagKey, string? FlagName, string? Actor,
    JsonElement Data, DateTimeOffset At);

/// <summary>
/// The durable way out for <see cref="NoticeEvent"/>s: enlisted inside the transaction that commits what the event reports,
/// so it is delivered (webhooks) at least once after that commit and never for a rolled-back one. Declared here so the
/// folders that own those facts (Anomalies, Rollouts, ChangeRequests) need not know who delivers them.
/// </summary>
public interface IEventOutbox
{
    Task EnlistAsync(DbConnection connection, DbTransaction transaction, NoticeEvent notice, CancellationToken ct);
}
