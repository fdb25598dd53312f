using System.Globalization;
using System.Text.RegularExpressions;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

public sealed record WebhookServices(Db Db, TimeProvider Clock, IOptions<WebhookOptions> Options, WebhookSignal Signal, WebhookSecrets Secrets,
    ILogger<Webhook> Log);

public static partial class WebhooksApi
{
    public const int MinSecretLength = 16;
    public const int MaxSecretLength = 256;

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/webhooks").WithTags("Webhooks");
        g.MapGet("/", List).WithName("ListWebhooks").WithSummary("Webhooks (never their secrets)");
        g.MapPost("/", Create).WithName("CreateWebhook").WithSummary("Create a webhook; its secret signs every delivery and is never returned");
        g.MapGet("/{id}", Get).WithName("GetWebhook").WithSummary("One webhook, with its state (disabled after a run of failures)");
        g.MapPatch("/{id}", Update).WithName("UpdateWebhook").WithSummary("Change a webhook; enabled: true re-enables it");
        g.MapDelete("/{id}", Delete).WithName("DeleteWebhook").WithSummary("Delete a webhook and its delivery log");
        g.MapGet("/{id}/deliveries", ListDeliveries).WithName("ListWebhookDeliveries").WithSummary("A webhook's deliveries, newest first, with every attempt");
        g.MapPost("/{id}/deliveries/{deliveryId}/redeliver", Redeliver).WithName("RedeliverWebhookDelivery")
            .WithSummary("Send a delivery's event again (queued after the webhook's pending events)");
        return app;
    }

    public static async Task<Results<Ok<Page<Webhook>>, ValidationProblem>> List([AsParameters] WebhookServices s, int? limit, string? cursor, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        return TypedResults.Ok(Paging.Build(await WebhookStore.ListAsync(conn, after, take + 1, ct), take, w => w.Id));
    }

    public static async Task<Results<Created<Webhook>, ValidationProblem, ProblemHttpResult>> Create([AsParameters] WebhookServices s, CreateWebhookRequest body,
        HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var url = body.Url?.Trim();
        if (await WebhookTargets.CheckAsync(url, s.Options.Value.AllowPrivateTargets, ct) is { } urlError) v.Add("url", urlError);
        var events = ValidateEvents(body.Events, v, required: true);
        var environments = ValidateEnvironments(body.Environments, v);
        ValidateSecret(body.Secret, v, required: true);
        var format = ValidateFormat(body.Format, v) ?? WebhookFormats.Json;
        if (!v.IsValid) return v.ToProblem();
        if (NoKey(s) is { } noKey) return noKey;

        var actor = http.GetActorOrAnonymous();
        var now = s.Clock.GetUtcNow();
        var w = new Webhook(Ids.New("wh", s.Clock), url!, events!, environments, format, true, null, 0, actor.KeyId ?? actor.Name, now, now);
        await using (var scope = await WebhookStore.BeginAsync(s.Db, ct))
        {
            await WebhookStore.InsertAsync(scope, new StoredWebhook(w, s.Secrets.Seal(w.Id, body.Secret!), true), ct);
            await scope.CommitAsync(ct);
        }
        s.Log.LogInformation("Webhook {WebhookId} created by {ActorKeyId} ({ActorName}) for {Events}", w.Id, actor.KeyId, actor.Name, string.Join(",", w.Events));
        return TypedResults.Created($"/api/webhooks/{w.Id}", w);
    }

    public static async Task<Results<Ok<Webhook>, ProblemHttpResult>> Get([AsParameters] WebhookServices s, string id, CancellationToken ct)
    {
        await using var conn = await s.Db.OpenAsync(ct);
        return await WebhookStore.GetAsync(conn, null, id, ct) is { } w ? TypedResults.Ok(w.Webhook) : Problems.NotFound("Webhook", id);
    }

    public static async Task<Results<Ok<Webhook>, ValidationProblem, ProblemHttpResult>> Update([AsParameters] WebhookServices s, string id,
        UpdateWebhookRequest body, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var url = body.Url?.Trim();
        if (body.Url is not null && await WebhookTargets.CheckAsync(url, s.Options.Value.AllowPrivateTargets, ct) is { } urlError) v.Add("url", urlError);
        var events = body.Events is null ? null : ValidateEvents(body.Events, v, required: true);
        var environments = body.Environments is null ? null : ValidateEnvironments(body.Environments, v);
        if (body.Secret is not null) ValidateSecret(body.Secret, v, required: true);
        var format = body.Format is null ? null : ValidateFormat(body.Format, v);
        if (!v.IsValid) return v.ToProblem();
        if (body.Secret is not null && NoKey(s) is { } noKey) return noKey;

        Webhook updated;
        await using (var scope = await WebhookStore.BeginAsync(s.Db, ct))
        {
            var stored = await WebhookStore.GetAsync(scope.Connection, scope.Transaction, id, ct);
            if (stored is null) return Problems.NotFound("Webhook", id);
            var w = stored.Webhook;
            var reenable = body.Enabled == true && !w.Enabled;
            updated = w with
            {
                Url = url ?? w.Url,
                Events = events ?? w.Events,
                // an empty list means every environment again
                Environments = body.Environments is null ? w.Environments : environments is { Count: > 0 } ? environments : null,
                Format = format ?? w.Format,
                Enabled = body.Enabled ?? w.Enabled,
                DisabledReason = body.Enabled == false ? "disabled by " + http.GetActorOrAnonymous().Name : reenable ? null : w.DisabledReason,
                ConsecutiveFailures = reenable ? 0 : w.ConsecutiveFailures,
                UpdatedAt = s.Clock.GetUtcNow(),
            };
            await WebhookStore.UpdateAsync(scope, body.Secret is null ? stored with { Webhook = updated }
                : new StoredWebhook(updated, s.Secrets.Seal(id, body.Secret), true), ct);
            await scope.CommitAsync(ct);
        }
        var actor = http.GetActorOrAnonymous();
        s.Log.LogInformation("Webhook {WebhookId} updated by {ActorKeyId} ({ActorName})", id, actor.KeyId, actor.Name);
        if (updated.Enabled) s.Signal.Wake();
        return TypedResults.Ok(updated);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete([AsParameters] WebhookServices s, string id, HttpContext http, CancellationToken ct)
    {
        await using (var scope = await WebhookStore.BeginAsync(s.Db, ct))
        {
            if (await WebhookStore.GetAsync(scope.Connection, scope.Transaction, id, ct) is null) return Problems.NotFound("Webhook", id);
            await WebhookStore.DeleteAsync(scope, id, ct);
            await scope.CommitAsync(ct);
        }
        var actor = http.GetActorOrAnonymous();
        s.Log.LogInformation("Webhook {WebhookId} deleted by {ActorKeyId} ({ActorName})", id, actor.KeyId, actor.Name);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<Page<WebhookDelivery>>, ValidationProblem, ProblemHttpResult>> ListDeliveries([AsParameters] WebhookServices s,
        string id, int? limit, string? cursor, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v);
        long? before = null;
        if (after is not null)
        {
            if (long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) before = seq;
            else v.Add("cursor", "is not a cursor this list returned");
        }
        if (!v.IsValid) return v.ToProblem();
        await using var conn = await s.Db.OpenAsync(ct);
        if (await WebhookStore.GetAsync(conn, null, id, ct) is null) return Problems.NotFound("Webhook", id);
        var rows = await WebhookStore.ListDeliveriesAsync(conn, id, before, take + 1, ct);
        var page = Paging.Build(rows, take, r => r.Seq.ToString(CultureInfo.InvariantCulture));
        return TypedResults.Ok(new Page<WebhookDelivery>(page.Items.Select(r => r.Delivery).ToList(), page.NextCursor));
    }

    public static async Task<Results<Accepted<WebhookDelivery>, ProblemHttpResult>> Redeliver([AsParameters] WebhookServices s, string id, string deliveryId,
        HttpContext http, CancellationToken ct)
    {
        WebhookDelivery? queued;
        await using (var scope = await WebhookStore.BeginAsync(s.Db, ct))
        {
            if (await WebhookStore.GetAsync(scope.Connection, scope.Transaction, id, ct) is null) return Problems.NotFound("Webhook", id);
            var original = await WebhookStore.GetDeliveryAsync(scope.Connection, scope.Transaction, id, deliveryId, ct);
            if (original is null) return Problems.NotFound("Delivery", deliveryId);
            var dedupe = $"redeliver-{Ids.New("r", s.Clock)}";
            await WebhookStore.EnqueueAsync(scope, id, dedupe, original.Event, original.Payload.GetRawText(), Time.ToMs(s.Clock.GetUtcNow()), s.Clock, ct);
            queued = await WebhookStore.GetDeliveryByDedupeAsync(scope.Connection, scope.Transaction, id, dedupe, ct);
            await scope.CommitAsync(ct);
        }
        var actor = http.GetActorOrAnonymous();
        s.Log.LogInformation("Webhook {WebhookId} delivery {DeliveryId} redelivered by {ActorKeyId} ({ActorName})", id, deliveryId, actor.KeyId, actor.Name);
        s.Signal.Wake();
        return TypedResults.Accepted($"/api/webhooks/{id}/deliveries", queued!);
    }

    /// <summary>503 when a secret cannot be sealed here (no usable key): a secret is never stored in clear.</summary>
    private static ProblemHttpResult? NoKey(WebhookServices s) => s.Secrets.CanSeal ? null
        : TypedResults.Problem(title: "Webhook secrets cannot be encrypted", detail: s.Secrets.Problem, statusCode: StatusCodes.Status503ServiceUnavailable);

    private static List<string>? ValidateEvents(IReadOnlyList<string>? events, Validator v, bool required)
    {
        if (events is null || events.Count == 0)
        {
            if (required) v.Add("events", $"must name at least one of: {string.Join(", ", WebhookEvents.All)}");
            return null;
        }
        var bad = events.Where(e => !WebhookEvents.All.Contains(e)).ToList();
        if (bad.Count > 0) v.Add("events", $"unknown event {string.Join(", ", bad)}; known: {string.Join(", ", WebhookEvents.All)}");
        return events.Distinct().ToList();
    }

    private static List<string>? ValidateEnvironments(IReadOnlyList<string>? environments, Validator v)
    {
        if (environments is null || environments.Count == 0) return null;
        if (environments.Any(e => e is null || !EnvironmentName().IsMatch(e))) v.Add("environments", "each must be 1–50 characters of a-z 0-9 - _ .");
        return environments.Distinct().ToList();
    }

    private static void ValidateSecret(string? secret, Validator v, bool required)
    {
        if (string.IsNullOrEmpty(secret)) { if (required) v.Add("secret", "is required (it signs every delivery)"); return; }
        if (secret.Length < MinSecretLength || secret.Length > MaxSecretLength)
            v.Add("secret", $"must be {MinSecretLength}–{MaxSecretLength} characters");
    }

    private static string? ValidateFormat(string? format, Validator v)
    {
        if (format is null) return null;
        if (format is WebhookFormats.Json or WebhookFormats.Slack) return format;
        v.Add("format", "must be json or slack");
        return null;
    }

    [GeneratedRegex("^[a-z0-9._-]{1,50}$")]
    private static partial Regex EnvironmentName();
}
