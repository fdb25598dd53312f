using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>The flag an event is about, as a payload names it.</summary>
public sealed record WebhookFlag(string Id, string Key, string Name);

/// <summary>
/// The body a receiver gets (<c>format: json</c>): <c>id</c> is the event's, the same on every retry and redelivery of it,
/// so a receiver can drop repeats (delivery is at least once).
/// </summary>
public sealed record WebhookPayload(string Id, string Type, DateTimeOffset Timestamp, string Actor, string? Environment, WebhookFlag? Flag,
    long? Revision, string? Link, JsonElement Data, string Text);

/// <summary>Turns committed events into delivery rows, one per matching webhook, and wakes the worker.</summary>
public sealed class WebhookEnqueuer(Db db, TimeProvider clock, IOptions<WebhookOptions> options, WebhookSignal signal, ILogger<WebhookEnqueuer> log)
{
    public async Task EnqueueAsync(WebhookPayload payload, CancellationToken ct)
    {
        var now = Time.ToMs(clock.GetUtcNow());
        var queued = 0;
        await using (var s = await WebhookStore.BeginAsync(db, ct))
        {
            foreach (var w in await WebhookStore.EnabledAsync(s.Connection, s.Transaction, ct))
            {
                if (!w.Events.Contains(payload.Type)) continue;
                if (w.Environments is { } envs && (payload.Environment is null || !envs.Contains(payload.Environment))) continue;
                var body = w.Format == WebhookFormats.Slack ? Json.Serialize(new { text = payload.Text }) : Json.Serialize(payload);
                if (await WebhookStore.EnqueueAsync(s, w.Id, payload.Id, payload.Type, body, now, clock, ct)) queued++;
            }
            await s.CommitAsync(ct);
        }
        if (queued > 0)
        {
            log.LogDebug("Webhook event {EventId} ({Type}) queued for {Count} webhooks", payload.Id, payload.Type, queued);
            signal.Wake();
        }
    }

    public string? Link(string? flagId) => flagId is null ? null : $"{options.Value.PublicBaseUrl.TrimEnd('/')}/ui/flags/{Uri.EscapeDataString(flagId)}";

    /// <summary>A committed flag change as an event; its id is the revision, so a revision the feed repeats is queued once.</summary>
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

    private static string FlagText(FeedEntry e, string actor)
    {
        var c = e.Change;
        var who = string.IsNullOrEmpty(actor) ? "Someone" : char.ToUpperInvariant(actor[0]) + actor[1..];
        var verb = c.ChangeType switch
        {
            ChangeType.Created => "created",
            ChangeType.Deleted => "deleted",
            ChangeType.Enabled => "enabled",
            ChangeType.Disabled => "disabled",
            ChangeType.RolloutChanged => $"set the rollout of",
            ChangeType.RolledBack => "rolled back",
            _ => "updated",
        };
        var text = $"{who} {verb} {e.Flag.Name} in {c.Environment}";
        if (c.ChangeType == ChangeType.RolloutChanged) text += $" to {Percent(e.Flag.RolloutPercentage)}";
        if (c.ChangeType == ChangeType.RolledBack && PercentOf(c.PreviousValue) is { } before) text += $" at {Percent(before)}";
        if (!string.IsNullOrWhiteSpace(c.Reason)) text += $": {c.Reason}";
        return text;
    }

    private static double? PercentOf(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Object } v && v.TryGetProperty("rolloutPercentage", out var p) && p.TryGetDouble(out var d) ? d : null;

    private static string Percent(double p) => $"{p.ToString("0.##", CultureInfo.InvariantCulture)} %";
}

/// <summary>Flag events: the change feed (at least once per deployment) queues one delivery per matching webhook.</summary>
internal sealed class WebhookFeedSubscriber(WebhookEnqueuer enqueuer) : IChangeFeedSubscriber
{
    public async ValueTask OnChangeAsync(FeedEntry entry, CancellationToken ct) => await enqueuer.EnqueueAsync(enqueuer.FromFeed(entry), ct);
}

/// <summary>
/// Anomaly and rollout events: the live events their folders publish after their transactions commit
/// (<see cref="ILiveEventSink"/>, in Common, so Anomalies and Rollouts need not know this folder). Unlike flag events they
/// have no outbox: a process that dies between the commit and the publish loses them (at most once).
/// </summary>
internal sealed class WebhookLiveSink(WebhookEnqueuer enqueuer, IServiceProvider services, ILogger<WebhookLiveSink> log) : ILiveEventSink
{
    public async ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
    {
        var type = e.Type switch
        {
            LiveEventTypes.AnomalyDetected => WebhookEvents.AnomalyOpened,
            LiveEventTypes.AnomalyResolved => WebhookEvents.AnomalyResolved,
            LiveEventTypes.RolloutUpdated => WebhookEvents.RolloutUpdated,
            _ => null,
        };
        if (type is null) return;
        try
        {
            var data = JsonSerializer.SerializeToElement(e.Payload, e.Payload.GetType(), Json.Options);
            Flag? flag = null;
            if (e.FlagId is { } flagId)
            {
                await using var conn = await services.GetRequiredService<Db>().OpenAsync(ct);
                flag = await FlagStore.FindAsync(conn, null, flagId, ct);
            }
            var node = JsonNode.Parse(data.GetRawText()) as JsonObject;
            var plan = node?["plan"] as JsonObject;
            var id = type == WebhookEvents.RolloutUpdated
                ? $"rollout-{plan?["id"]}-{plan?["state"]}-{plan?["currentStage"]}-{plan?["stageStartedAt"]}"
                : $"{type}-{node?["id"]}-{node?["severity"]}";
            var env = e.Environment ?? flag?.TargetEnvironment;
            var actor = (string?)node?["actorName"] ?? (type == WebhookEvents.RolloutUpdated ? "guardian" : "detector");
            var name = flag?.Name ?? e.FlagId ?? "?";
            var text = type switch
            {
                WebhookEvents.AnomalyOpened => $"Anomaly on {name} in {env}: {(string?)node?["message"]}",
                WebhookEvents.AnomalyResolved => $"Anomaly resolved on {name} in {env}: {(string?)node?["message"]}",
                _ => $"Rollout of {name} in {env} is {(string?)plan?["state"]}" + (plan?["reason"] is { } r ? $": {r}" : ""),
            };
            await enqueuer.EnqueueAsync(new WebhookPayload(id, type, DateTimeOffset.UtcNow, actor, env,
                flag is null ? null : new WebhookFlag(flag.Id, flag.Key, flag.Name), null, enqueuer.Link(e.FlagId), data, text), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogWarning(ex, "Webhook event {Type} for flag {FlagId} was not queued", type, e.FlagId);
        }
    }
}
