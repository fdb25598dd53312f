using System.Text.Json;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>A webhook as the API shows it: never its secret.</summary>
public sealed record Webhook(string Id, string Url, IReadOnlyList<string> Events, IReadOnlyList<string>? Environments, string Format,
    bool Enabled, string? DisabledReason, long ConsecutiveFailures, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary><c>POST /api/webhooks</c>. <c>secret</c> signs every delivery; it is accepted here and never returned.</summary>
public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events, IReadOnlyList<string>? Environments, string? Secret, string? Format);

/// <summary><c>PATCH /api/webhooks/{id}</c>: absent fields stay; <c>enabled: true</c> re-enables a disabled webhook and clears its failure run.</summary>
public sealed record UpdateWebhookRequest(string? Url, IReadOnlyList<string>? Events, IReadOnlyList<string>? Environments, string? Secret,
    string? Format, bool? Enabled);

/// <summary>One event for one webhook, with every attempt made to deliver it.</summary>
public sealed record WebhookDelivery(string Id, string WebhookId, string Event, string State, long Attempts, long? LastStatusCode,
    DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, DateTimeOffset? NextAttemptAt, JsonElement Payload, IReadOnlyList<WebhookAttempt> AttemptLog);

/// <summary>One POST to the receiver: its status code (null when none came: refused, timed out) and how long it took.</summary>
public sealed record WebhookAttempt(DateTimeOffset At, long? StatusCode, double DurationMs, string? Error);

public static class WebhookEvents
{
    public const string FlagCreated = "flag.created";
    public const string FlagChanged = "flag.changed";
    public const string FlagDeleted = "flag.deleted";
    public const string AnomalyOpened = "anomaly.opened";
    public const string AnomalyResolved = "anomaly.resolved";
    public const string RolloutUpdated = "rollout.updated";
    public const string ChangeRequestCreated = "change_request.created";
    public const string ChangeRequestDecided = "change_request.decided";

    /// <summary>What a webhook may subscribe to: flag events from the change feed, the rest from the notice outbox (<see cref="WebhookOutbox"/>).</summary>
    public static readonly IReadOnlyList<string> All =
        [FlagCreated, FlagChanged, FlagDeleted, AnomalyOpened, AnomalyResolved, RolloutUpdated, ChangeRequestCreated, ChangeRequestDecided];
}

public static class WebhookFormats
{
    public const string Json = "json";
    public const string Slack = "slack";
}

public static class DeliveryStates
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    /// <summary>Given up after <see cref="WebhookOptions.MaxAttempts"/>; the webhook's next event goes ahead.</summary>
    public const string Failed = "failed";
}

/// <summary><c>Webhooks:*</c> configuration.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// <c>Webhooks:PublicBaseUrl</c>: the origin the UI links in payloads start with. A worker has no request to take an
    /// origin from, so the default is the API's local launch address (launchSettings); set it to the public URL in any real deployment.
    /// </summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary><c>Webhooks:AllowPrivateTargets</c>: allow loopback/private/link-local targets (tests and the local AppHost only).</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary><c>Webhooks:TimeoutSeconds</c>: the longest one POST may take, so a slow receiver cannot hold a worker.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary><c>Webhooks:MaxAttempts</c>: attempts per event before it is given up.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary><c>Webhooks:DisableAfterFailures</c>: failed attempts in a row after which the webhook is disabled.</summary>
    public int DisableAfterFailures { get; set; } = 10;

    /// <summary><c>Webhooks:FirstRetrySeconds</c>: the first retry's delay; each next one doubles, up to <see cref="MaxRetrySeconds"/>.</summary>
    public double FirstRetrySeconds { get; set; } = 1;

    public double MaxRetrySeconds { get; set; } = 300;

    /// <summary><c>Webhooks:PollSeconds</c>: how often a worker looks for due deliveries it was not woken for (retries, other replicas' events).</summary>
    public double PollSeconds { get; set; } = 1;

    /// <summary><c>Webhooks:Workers</c>: concurrent deliveries per replica (each to a different webhook).</summary>
    public int Workers { get; set; } = 16;

    /// <summary>
    /// <c>Webhooks:Batch</c>: how many consecutive pending events of one webhook a worker claims at once and sends one after
    /// the other (stopping at the first failure), so a busy webhook costs one claim and one record per batch, not per event.
    /// </summary>
    public int Batch { get; set; } = 50;

    /// <summary>
    /// <c>Webhooks:SecretKey</c>: the key webhook secrets are encrypted with at rest (AES-256-GCM; any string of at least
    /// 16 characters, stretched with HKDF-SHA256). Without it, SQLite keeps a generated key in a file beside the database;
    /// PostgreSQL (several replicas) requires it.
    /// </summary>
    public string? SecretKey { get; set; }

    /// <summary>How long a claimed delivery is this replica's before another may take it (beyond the timeout: a crash).</summary>
    public double LeaseSeconds => TimeoutSeconds + 20;
}
