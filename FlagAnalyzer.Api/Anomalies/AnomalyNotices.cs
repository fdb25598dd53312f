using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>
/// Anomalies opened (or escalated: the same id, a higher severity) and resolved, enlisted as notices in the detection's
/// transaction (<see cref="IEventOutbox"/>, issue 27), so people outside hear of each exactly when it committed.
/// </summary>
internal static class AnomalyNotices
{
    public const string Opened = "anomaly.opened";
    public const string Resolved = "anomaly.resolved";

    public static async Task EnlistAsync(IEventOutbox? outbox, WriteScope s, Flag flag, IEnumerable<Anomaly> opened, IEnumerable<Anomaly> resolved,
        CancellationToken ct)
    {
        if (outbox is null) return;
        foreach (var a in opened) await outbox.EnlistAsync(s.Connection, s.Transaction, Notice(Opened, flag, a, a.DetectedAt), ct);
        foreach (var a in resolved) await outbox.EnlistAsync(s.Connection, s.Transaction, Notice(Resolved, flag, a, a.ResolvedAt ?? a.DetectedAt), ct);
    }

    private static NoticeEvent Notice(string type, Flag flag, Anomaly a, DateTimeOffset at) =>
        // an anomaly is of one environment's samples (issue 26): its notice goes to the webhooks of that environment
        new(type, a.Environment is { Length: > 0 } e ? e : flag.TargetEnvironment, flag.Id, flag.Key, flag.Name, "detector", JsonSerializer.SerializeToElement(a, Json.Options), at);
}
