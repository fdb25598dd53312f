using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>The flag an event is about, as a payload names it.</summary>
public sealed record WebhookFlag(string Id, string Key, string Name);

/// <summary>
/// The body a receiver gets (<c>format: json</c>): <c>id</c> is the event's, the same on every retry and redelivery of it,
/// so a receiver can drop repeats (delivery is at least once). <c>revision</c> is the change feed's (flag events);
/// <c>sequence</c> the notice outbox's (every other event), each increasing in the order a webhook receives them.
/// </summary>
public sealed record WebhookPayload(string Id, string Type, DateTimeOffset Timestamp, string Actor, string? Environment, WebhookFlag? Flag,
    long? Revision, string? Link, JsonElement Data, string Text)
{
    public long? Sequence { get; init; }
}

/// <summary>Builds the payloads of flag events (from the feed) and notices (from the outbox), with their chat-tool text.</summary>
public sealed partial class WebhookPayloads(IOptions<WebhookOptions> options)
{
    public string? Link(string? flagId) => flagId is null ? null : $"{options.Value.PublicBaseUrl.TrimEnd('/')}/ui/flags/{Uri.EscapeDataString(flagId)}";

    /// <summary>A committed flag change as an event; its id is the revision, so a revision seen twice is queued once.</summary>
    public WebhookPayload FromFeed(FeedEntry e)
    {
        var c = e.Change;
        var type = e.Deleted || c.ChangeType == ChangeType.Deleted ? WebhookEvents.FlagDeleted
            : c.ChangeType == ChangeType.Created ? WebhookEvents.FlagCreated : WebhookEvents.FlagChanged;
        var actor = c.ActorName ?? c.ChangedBy;
        var data = JsonSerializer.SerializeToElement(new
        {
            changeType = c.ChangeType, changeId = c.Id, c.PreviousValue, c.NewValue, c.Reason, c.ChangedBy, c.ActorKeyId,
            enabled = e.Flag.Enabled, rolloutPercentage = e.Flag.RolloutPercentage,
        }, Json.Options);
        return new WebhookPayload($"rev-{e.Revision}", type, c.Timestamp, actor, c.Environment, new WebhookFlag(e.Flag.Id, e.Flag.Key, e.Flag.Name),
            e.Revision, Link(e.Flag.Id), data, FlagText(e, actor));
    }

    /// <summary>A notice as an event; its id is its outbox sequence number.</summary>
    public WebhookPayload FromNotice(NoticeRow n)
    {
        var data = JsonDocument.Parse(n.Data).RootElement.Clone();
        var actor = n.Actor ?? "system";
        var flag = n.FlagId is null ? null : new WebhookFlag(n.FlagId, n.FlagKey ?? n.FlagId, n.FlagName ?? n.FlagKey ?? n.FlagId);
        return new WebhookPayload($"notice-{n.Seq}", n.Type, Time.FromMs(n.At), actor, n.Environment, flag, null, Link(n.FlagId), data,
            NoticeText(n.Type, actor, flag?.Name ?? "a flag", n.Environment, data))
        { Sequence = n.Seq };
    }

    private static string FlagText(FeedEntry e, string actor)
    {
        var c = e.Change;
        var verb = c.ChangeType switch
        {
            ChangeType.Created => "created",
            ChangeType.Deleted => "deleted",
            ChangeType.Enabled => "enabled",
            ChangeType.Disabled => "disabled",
            ChangeType.RolloutChanged => "set the rollout of",
            ChangeType.RolledBack => "rolled back",
            _ => "updated",
        };
        var text = $"{Who(actor)} {verb} {e.Flag.Name} in {c.Environment}";
        if (c.ChangeType == ChangeType.RolloutChanged) text += $" to {Percent(e.Flag.RolloutPercentage)}";
        if (c.ChangeType == ChangeType.RolledBack)
        {
            if (PercentOf(c.PreviousValue) is { } before) text += $" at {Percent(before)}";
            // a rollback's reason is the guardian's evidence in full; the chat line keeps the metric and its move
            var why = Evidence(c.Reason) ?? c.Reason;
            if (!string.IsNullOrWhiteSpace(why)) text += $": {why}";
            return text;
        }
        if (!string.IsNullOrWhiteSpace(c.Reason)) text += $": {c.Reason}";
        return text;
    }

    private static string NoticeText(string type, string actor, string flag, string? environment, JsonElement data)
    {
        var where = environment is null ? flag : $"{flag} in {environment}";
        switch (type)
        {
            case WebhookEvents.AnomalyOpened:
                return $"Anomaly on {where}: {Str(data, "message") ?? Str(data, "type")}";
            case WebhookEvents.AnomalyResolved:
                return $"Anomaly resolved on {where}: {Str(data, "message") ?? Str(data, "type")}";
            case WebhookEvents.RolloutUpdated:
            {
                var plan = data.TryGetProperty("plan", out var p) ? p : data;
                var state = Str(plan, "state");
                var reason = Str(plan, "reason");
                var at = StagePercent(plan) is { } pct ? $" at {Percent(pct)}" : "";
                var text = state switch
                {
                    "rolled_back" => $"{Who(actor)} rolled back the rollout of {where}{at}",
                    "completed" => $"Rollout of {where} completed{at}",
                    "paused" => $"{Who(actor)} paused the rollout of {where}{at}",
                    "aborted" => $"{Who(actor)} aborted the rollout of {where}",
                    "running" => $"Rollout of {where} is running{at}",
                    _ => $"Rollout of {where} is {state}",
                };
                var why = state == "rolled_back" ? Evidence(reason) ?? reason : reason;
                return string.IsNullOrWhiteSpace(why) ? text : $"{text}: {why}";
            }
            case WebhookEvents.ChangeRequestCreated:
                return $"{Who(actor)} asked to change {where}; it needs an approval";
            case WebhookEvents.ChangeRequestDecided:
                return $"{Who(actor)} {Str(data, "state") ?? "decided"} the change request for {where}";
            default:
                return $"{type} on {where}";
        }
    }

    private static double? StagePercent(JsonElement plan) =>
        plan.TryGetProperty("stages", out var stages) && stages.ValueKind == JsonValueKind.Array
        && plan.TryGetProperty("currentStage", out var i) && i.TryGetInt32(out var stage) && stage >= 0 && stage < stages.GetArrayLength()
        && stages[stage].TryGetProperty("percentage", out var p) && p.TryGetDouble(out var d) ? d : null;

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Who(string actor) => string.IsNullOrEmpty(actor) ? "Someone" : char.ToUpperInvariant(actor[0]) + actor[1..];

    /// <summary>
    /// The metric and how it moved, from a guardian's reason (detection's "error rate 0.90% → 2.20%" or the stage machine's
    /// "error_rate 0.9 % (control) → 2.2 % (treatment)"), as <c>error_rate 0.9 % → 2.2 %</c>; null when the reason has none.
    /// </summary>
    public static string? Evidence(string? reason)
    {
        if (reason is null || EvidencePattern().Match(reason) is not { Success: true } m) return null;
        var metric = m.Groups["metric"].Value;
        metric = metric switch
        {
            "error rate" => "error_rate",
            "P50 latency" => "latency_p50",
            "P99 latency" => "latency_p99",
            "conversion rate" => "conversion_rate",
            "user satisfaction" => "user_satisfaction_score",
            _ => metric,
        };
        return $"{metric} {Number(m.Groups["from"].Value)}{Unit(m.Groups["u1"].Value)} → {Number(m.Groups["to"].Value)}{Unit(m.Groups["u2"].Value)}";
    }

    private static string Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d.ToString("0.##", CultureInfo.InvariantCulture) : text;

    private static string Unit(string unit) => unit.Trim() is { Length: > 0 } u ? $" {u}" : "";

    [GeneratedRegex(@"(?<metric>(?:P\d\d |user |error |conversion )?[a-z][a-z0-9_]*) (?<from>-?\d+(?:\.\d+)?)(?<u1> ?(?:%|ms|/5))?(?: \([^)]*\))? → (?<to>-?\d+(?:\.\d+)?)(?<u2> ?(?:%|ms|/5))?")]
    private static partial Regex EvidencePattern();

    private static double? PercentOf(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Object } v && v.TryGetProperty("rolloutPercentage", out var p) && p.TryGetDouble(out var d) ? d : null;

    private static string Percent(double p) => $"{p.ToString("0.##", CultureInfo.InvariantCulture)} %";
}

/// <summary>
/// Flag events: the change feed hands each committed revision to this subscriber (at least once per deployment), which
/// returns once the pump has queued the webhooks' deliveries up to that revision — so the feed's outbox row is marked
/// dispatched (and later pruned) only after its deliveries are durable.
/// </summary>
internal sealed class WebhookFeedSubscriber(WebhookPump pump) : IChangeFeedSubscriber
{
    public async ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct) => await pump.PumpThroughAsync(entry.Revision, ct);
}
