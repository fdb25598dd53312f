using System.Data.Common;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// A webhook row with what only the worker sees: its secret as stored — sealed (<see cref="WebhookSecrets"/>) when
/// <paramref name="Sealed"/>, else in clear (a row from before sealing, or a store with no usable key).
/// </summary>
public sealed record StoredWebhook(Webhook Webhook, string Secret, bool Sealed);

/// <summary>A claimed delivery: what to send where.</summary>
public sealed class DueDelivery
{
    public long Seq { get; init; }
    public string Id { get; init; } = "";
    public string WebhookId { get; init; } = "";
    public string Event { get; init; } = "";
    public string Payload { get; init; } = "";
    public long Attempts { get; init; }
    public string Url { get; init; } = "";
    public string Secret { get; init; } = "";
    public bool SecretSealed { get; init; }
    public string Format { get; init; } = "";
}

/// <summary>A notice as its outbox row holds it.</summary>
public sealed class NoticeRow
{
    public long Seq { get; init; }
    public string Type { get; init; } = "";
    public string? Environment { get; init; }
    public string? FlagId { get; init; }
    public string? FlagKey { get; init; }
    public string? FlagName { get; init; }
    public string? Actor { get; init; }
    public string Data { get; init; } = "";
    public long At { get; init; }
}

/// <summary>The webhooks folder's tables: <c>webhooks</c>, <c>webhook_deliveries</c>, <c>webhook_attempts</c>.</summary>
public static class WebhookStore
{
    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Url { get; set; } = "";
        public string Events { get; set; } = "[]";
        public string? Environments { get; set; }
        public string Secret { get; set; } = "";
        public bool SecretSealed { get; set; }
        public string Format { get; set; } = "";
        public bool Enabled { get; set; }
        public string? DisabledReason { get; set; }
        public long ConsecutiveFailures { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }

        public StoredWebhook ToStored() => new(new Webhook(Id, Url, Json.Deserialize<List<string>>(Events)!,
            Environments is null ? null : Json.Deserialize<List<string>>(Environments), Format, Enabled, DisabledReason, ConsecutiveFailures,
            CreatedBy, Time.FromMs(CreatedAt), Time.FromMs(UpdatedAt)), Secret, SecretSealed);
    }

    private sealed class DeliveryRow
    {
        public long Seq { get; set; }
        public string Id { get; set; } = "";
        public string WebhookId { get; set; } = "";
        public string Event { get; set; } = "";
        public string Payload { get; set; } = "";
        public string State { get; set; } = "";
        public long Attempts { get; set; }
        public long NextAttemptAt { get; set; }
        public long? LastStatus { get; set; }
        public long CreatedAt { get; set; }
        public long? DeliveredAt { get; set; }
    }

    private sealed class AttemptRow
    {
        public string DeliveryId { get; set; } = "";
        public long AttemptedAt { get; set; }
        public long? StatusCode { get; set; }
        public double DurationMs { get; set; }
        public string? Error { get; set; }
    }

    private const string Columns = "id, url, events, environments, secret, secret_sealed, format, enabled, disabled_reason, consecutive_failures, created_by, created_at, updated_at";

    /// <summary>
    /// A transaction for this folder's rows. Its rows are only ever touched by id or by claim (row locks on PostgreSQL,
    /// <c>FOR UPDATE SKIP LOCKED</c>), so it takes no advisory lock there (<see cref="WriteLock.None"/>); SQLite has one writer anyway.
    /// </summary>
    public static Task<WriteScope> BeginAsync(Db db, CancellationToken ct) => db.BeginWriteAsync(WriteLock.None, ct);

    public static Task InsertAsync(WriteScope s, StoredWebhook w, CancellationToken ct) => s.ExecAsync($"""
        INSERT INTO webhooks({Columns}) VALUES (@Id, @Url, @Events, @Environments, @Secret, @Sealed, @Format, @Enabled, @DisabledReason,
            @ConsecutiveFailures, @CreatedBy, @CreatedAt, @UpdatedAt)
        """, Params(w), ct);

    public static Task UpdateAsync(WriteScope s, StoredWebhook w, CancellationToken ct) => s.ExecAsync("""
        UPDATE webhooks SET url = @Url, events = @Events, environments = @Environments, secret = @Secret, secret_sealed = @Sealed, format = @Format,
            enabled = @Enabled, disabled_reason = @DisabledReason, consecutive_failures = @ConsecutiveFailures, updated_at = @UpdatedAt
        WHERE id = @Id
        """, Params(w), ct);

    private static object Params(StoredWebhook s)
    {
        var w = s.Webhook;
        return new
        {
            w.Id, w.Url, Events = Json.Serialize(w.Events), Environments = w.Environments is null ? null : Json.Serialize(w.Environments),
            s.Secret, s.Sealed, w.Format, w.Enabled, w.DisabledReason, w.ConsecutiveFailures, w.CreatedBy,
            CreatedAt = Time.ToMs(w.CreatedAt), UpdatedAt = Time.ToMs(w.UpdatedAt),
        };
    }

    public static async Task<StoredWebhook?> GetAsync(DbConnection conn, DbTransaction? tx, string id, CancellationToken ct) =>
        (await conn.FirstOrDefaultAsync<Row>(tx, $"SELECT {Columns} FROM webhooks WHERE id = @id", new { id }, ct))?.ToStored();

    public static async Task<List<Webhook>> ListAsync(DbConnection conn, string? after, int take, CancellationToken ct) =>
        (await conn.ListAsync<Row>(null, $"SELECT {Columns} FROM webhooks WHERE (@after IS NULL OR id > @after) ORDER BY id LIMIT @take",
            new { after, take }, ct)).ConvertAll(r => r.ToStored().Webhook);

    public static async Task<List<Webhook>> EnabledAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct) =>
        (await conn.ListAsync<Row>(tx, $"SELECT {Columns} FROM webhooks WHERE enabled = @yes", new { yes = true }, ct)).ConvertAll(r => r.ToStored().Webhook);

    public static Task DeleteAsync(WriteScope s, string id, CancellationToken ct) => s.ExecAsync("""
        DELETE FROM webhook_attempts WHERE webhook_id = @id;
        DELETE FROM webhook_deliveries WHERE webhook_id = @id;
        DELETE FROM webhooks WHERE id = @id;
        """, new { id }, ct);

    /// <summary>Queues one event for one webhook; a (webhook, dedupe key) seen before is left as it is. True when queued.</summary>
    public static async Task<bool> EnqueueAsync(WriteScope s, string webhookId, string dedupeKey, string evt, string payload, long nowMs, TimeProvider clock,
        CancellationToken ct) =>
        await s.ExecAsync("""
            INSERT INTO webhook_deliveries(id, webhook_id, dedupe_key, event, payload, state, attempts, next_attempt_at, created_at)
            VALUES (@id, @webhookId, @dedupeKey, @evt, @payload, 'pending', 0, @nowMs, @nowMs)
            ON CONFLICT (webhook_id, dedupe_key) DO NOTHING
            """, new { id = Ids.New("whd", clock), webhookId, dedupeKey, evt, payload, nowMs }, ct) == 1;

    private const string DueColumns = "d.seq, d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret, w.secret_sealed, w.format";

    private sealed class Follower
    {
        public long Seq { get; init; }
        public long NextAttemptAt { get; init; }
        public long? LeaseUntil { get; init; }
    }

    /// <summary>
    /// Claims work for up to <paramref name="webhooks"/> webhooks: for each, its oldest undelivered event (a webhook's next
    /// event waits for the one before, whoever holds it) and up to <paramref name="batch"/> − 1 events queued right after
    /// it, in seq order — a chain the worker sends one after the other — and leases them all to <paramref name="owner"/>.
    /// A chain stops before the first event that is not due or is leased, so it never skips one.
    /// </summary>
    public static async Task<List<List<DueDelivery>>> ClaimAsync(WriteScope s, string owner, long nowMs, long leaseMs, int webhooks, int batch,
        CancellationToken ct)
    {
        var heads = await s.ListAsync<DueDelivery>($"""
            SELECT {DueColumns}
            FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            WHERE d.state = 'pending' AND w.enabled = @yes AND d.next_attempt_at <= @nowMs
              AND (d.lease_until IS NULL OR d.lease_until < @nowMs)
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.state = 'pending' AND e.seq < d.seq)
            ORDER BY d.seq LIMIT @take
            """ + s.Pick("", " FOR UPDATE OF d SKIP LOCKED"), new { nowMs, take = webhooks, yes = true }, ct);
        var chains = new List<List<DueDelivery>>(heads.Count);
        var leased = new List<long>();
        foreach (var head in heads)
        {
            var chain = new List<DueDelivery> { head };
            if (batch > 1)
            {
                var next = await s.ListAsync<Follower>("""
                    SELECT seq, next_attempt_at, lease_until FROM webhook_deliveries
                    WHERE webhook_id = @webhookId AND state = 'pending' AND seq > @seq ORDER BY seq LIMIT @more
                    """ + s.Pick("", " FOR UPDATE"), new { webhookId = head.WebhookId, seq = head.Seq, more = batch - 1 }, ct);
                var usable = next.TakeWhile(f => f.NextAttemptAt <= nowMs && (f.LeaseUntil is null || f.LeaseUntil < nowMs)).Select(f => f.Seq).ToArray();
                if (usable.Length > 0)
                    chain.AddRange(await s.ListAsync<DueDelivery>($"""
                        SELECT {DueColumns} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                        WHERE {s.Pick("d.seq IN @seqs", "d.seq = ANY(@seqs)")} ORDER BY d.seq
                        """, new { seqs = usable }, ct));
            }
            chains.Add(chain);
            leased.AddRange(chain.Select(d => d.Seq));
        }
        if (leased.Count > 0)
            await s.ExecAsync($"UPDATE webhook_deliveries SET lease_owner = @owner, lease_until = @until WHERE {s.Pick("seq IN @seqs", "seq = ANY(@seqs)")}",
                new { owner, until = nowMs + leaseMs, seqs = leased.ToArray() }, ct);
        return chains;
    }

    /// <summary>Gives back claimed deliveries that were not attempted (a chain stopped at a failure), as they were.</summary>
    public static Task ReleaseAsync(WriteScope s, string owner, IReadOnlyCollection<long> seqs, CancellationToken ct) =>
        seqs.Count == 0 ? Task.CompletedTask : s.ExecAsync($"""
            UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL
            WHERE {s.Pick("seq IN @seqs", "seq = ANY(@seqs)")} AND lease_owner = @owner AND state = 'pending'
            """, new { owner, seqs = seqs.ToArray() }, ct);

    /// <summary>Webhooks whose secret is still stored in clear.</summary>
    public static async Task<List<(string Id, string Secret)>> UnsealedAsync(DbConnection conn, CancellationToken ct) =>
        (await conn.ListAsync<Row>(null, $"SELECT {Columns} FROM webhooks WHERE secret_sealed = @no", new { no = false }, ct)).ConvertAll(r => (r.Id, r.Secret));

    /// <summary>Replaces a clear secret by its sealed form, only if the row still holds that clear secret; 1 when it did.</summary>
    public static Task<int> SealAsync(WriteScope s, string id, string clear, string sealedSecret, CancellationToken ct) => s.ExecAsync("""
        UPDATE webhooks SET secret = @sealedSecret, secret_sealed = @yes WHERE id = @id AND secret_sealed = @no AND secret = @clear
        """, new { id, clear, sealedSecret, yes = true, no = false }, ct);

    /// <summary>
    /// Enlists a notice in the caller's transaction. Its seq comes from the one-row counter, whose row lock the transaction
    /// holds from here to its commit (PostgreSQL; SQLite has one writer): notices commit in seq order with no gaps, so a
    /// reader that has seen seq N has seen everything before it.
    /// </summary>
    public static async Task<long> EnlistNoticeAsync(DbConnection conn, DbTransaction tx, NoticeRow n, CancellationToken ct)
    {
        var seq = await conn.ScalarAsync<long>(tx, "UPDATE webhook_notice_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq", null, ct);
        await conn.ExecAsync(tx, """
            INSERT INTO webhook_notices(seq, type, environment, flag_id, flag_key, flag_name, actor, data, at)
            VALUES (@seq, @Type, @Environment, @FlagId, @FlagKey, @FlagName, @Actor, @Data, @At)
            """, new { seq, n.Type, n.Environment, n.FlagId, n.FlagKey, n.FlagName, n.Actor, n.Data, n.At }, ct);
        return seq;
    }

    /// <summary>The pump's cursors (how far it has queued each source), locked for this transaction on PostgreSQL.</summary>
    public static async Task<(long Flags, long Notices)> LockCursorsAsync(WriteScope s, CancellationToken ct)
    {
        var rows = await s.ListAsync<(string Source, long Reached)>("SELECT source, reached FROM webhook_cursors ORDER BY source"
            + s.Pick("", " FOR UPDATE"), null, ct);
        return (rows.FirstOrDefault(r => r.Source == "flags").Reached, rows.FirstOrDefault(r => r.Source == "notices").Reached);
    }

    public static Task MoveCursorsAsync(WriteScope s, long flags, long notices, CancellationToken ct) => s.ExecAsync("""
        UPDATE webhook_cursors SET reached = @flags WHERE source = 'flags';
        UPDATE webhook_cursors SET reached = @notices WHERE source = 'notices';
        """, new { flags, notices }, ct);

    public static Task<List<NoticeRow>> NoticesAfterAsync(WriteScope s, long after, int take, CancellationToken ct) => s.ListAsync<NoticeRow>("""
        SELECT seq, type, environment, flag_id, flag_key, flag_name, actor, data, at FROM webhook_notices WHERE seq > @after ORDER BY seq LIMIT @take
        """, new { after, take }, ct);

    /// <summary>Notices already queued and older than <paramref name="beforeMs"/> are of no further use.</summary>
    public static Task<int> PruneNoticesAsync(WriteScope s, long reached, long beforeMs, CancellationToken ct) =>
        s.ExecAsync("DELETE FROM webhook_notices WHERE seq <= @reached AND at < @beforeMs", new { reached, beforeMs }, ct);

    /// <summary>Logs one attempt and moves the delivery and its webhook on; false when the lease was lost meanwhile.</summary>
    public static async Task<bool> RecordAttemptAsync(WriteScope s, DueDelivery d, string owner, WebhookAttempt a, bool ok, WebhookOptions o,
        TimeProvider clock, CancellationToken ct)
    {
        var nowMs = Time.ToMs(a.At);
        var attempts = d.Attempts + 1;
        var state = ok ? DeliveryStates.Delivered : attempts >= o.MaxAttempts ? DeliveryStates.Failed : DeliveryStates.Pending;
        var delay = Math.Min(o.MaxRetrySeconds, o.FirstRetrySeconds * Math.Pow(2, attempts - 1));
        var changed = await s.ExecAsync("""
            UPDATE webhook_deliveries SET state = @state, attempts = @attempts, last_status = @status, lease_owner = NULL, lease_until = NULL,
                next_attempt_at = @next, delivered_at = @deliveredAt
            WHERE seq = @seq AND lease_owner = @owner AND state = 'pending'
            """, new
        {
            state, attempts, status = a.StatusCode, next = nowMs + (long)(delay * 1000), deliveredAt = ok ? nowMs : (long?)null, seq = d.Seq, owner,
        }, ct);
        if (changed == 0) return false;
        await s.ExecAsync("""
            INSERT INTO webhook_attempts(id, delivery_id, webhook_id, attempted_at, status_code, duration_ms, error)
            VALUES (@id, @deliveryId, @webhookId, @at, @status, @duration, @error)
            """, new { id = Ids.New("wha", clock), deliveryId = d.Id, webhookId = d.WebhookId, at = nowMs, status = a.StatusCode, duration = a.DurationMs, error = a.Error }, ct);
        if (ok)
            await s.ExecAsync("UPDATE webhooks SET consecutive_failures = 0 WHERE id = @id", new { id = d.WebhookId }, ct);
        else
            await s.ExecAsync("""
                UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
                    enabled = CASE WHEN consecutive_failures + 1 >= @limit THEN @no ELSE enabled END,
                    disabled_reason = CASE WHEN consecutive_failures + 1 >= @limit THEN @reason ELSE disabled_reason END
                WHERE id = @id
                """, new { id = d.WebhookId, limit = o.DisableAfterFailures, no = false, reason = $"disabled after {o.DisableAfterFailures} failed attempts in a row" }, ct);
        return true;
    }

    /// <summary>A webhook's deliveries, newest first, with their attempts; the cursor is the last one's sequence number.</summary>
    public static async Task<List<(long Seq, WebhookDelivery Delivery)>> ListDeliveriesAsync(DbConnection conn, string webhookId, long? before, int take,
        CancellationToken ct)
    {
        var rows = await conn.ListAsync<DeliveryRow>(null, """
            SELECT seq, id, webhook_id, event, payload, state, attempts, next_attempt_at, last_status, created_at, delivered_at
            FROM webhook_deliveries WHERE webhook_id = @webhookId AND (@before IS NULL OR seq < @before) ORDER BY seq DESC LIMIT @take
            """, new { webhookId, before, take }, ct);
        var ids = rows.ConvertAll(r => r.Id);
        var attempts = ids.Count == 0 ? [] : await conn.ListAsync<AttemptRow>(null,
            "SELECT delivery_id, attempted_at, status_code, duration_ms, error FROM webhook_attempts WHERE webhook_id = @webhookId AND "
            + conn.Pick("delivery_id IN @ids", "delivery_id = ANY(@ids)") + " ORDER BY attempted_at", new { webhookId, ids = ids.ToArray() }, ct);
        var byDelivery = attempts.ToLookup(a => a.DeliveryId);
        return rows.ConvertAll(r => (r.Seq, ToDelivery(r, byDelivery[r.Id].Select(a =>
            new WebhookAttempt(Time.FromMs(a.AttemptedAt), a.StatusCode, a.DurationMs, a.Error)).ToList())));
    }

    public static async Task<WebhookDelivery?> GetDeliveryAsync(DbConnection conn, DbTransaction? tx, string webhookId, string id, CancellationToken ct)
    {
        var r = await conn.FirstOrDefaultAsync<DeliveryRow>(tx, """
            SELECT seq, id, webhook_id, event, payload, state, attempts, next_attempt_at, last_status, created_at, delivered_at
            FROM webhook_deliveries WHERE webhook_id = @webhookId AND id = @id
            """, new { webhookId, id }, ct);
        return r is null ? null : ToDelivery(r, []);
    }

    public static async Task<WebhookDelivery?> GetDeliveryByDedupeAsync(DbConnection conn, DbTransaction? tx, string webhookId, string dedupeKey,
        CancellationToken ct)
    {
        var r = await conn.FirstOrDefaultAsync<DeliveryRow>(tx, """
            SELECT seq, id, webhook_id, event, payload, state, attempts, next_attempt_at, last_status, created_at, delivered_at
            FROM webhook_deliveries WHERE webhook_id = @webhookId AND dedupe_key = @dedupeKey
            """, new { webhookId, dedupeKey }, ct);
        return r is null ? null : ToDelivery(r, []);
    }

    private static WebhookDelivery ToDelivery(DeliveryRow r, IReadOnlyList<WebhookAttempt> attempts) =>
        new(r.Id, r.WebhookId, r.Event, r.State, r.Attempts, r.LastStatus, Time.FromMs(r.CreatedAt), r.DeliveredAt is { } d ? Time.FromMs(d) : null,
            r.State == DeliveryStates.Pending ? Time.FromMs(r.NextAttemptAt) : null, JsonDocument.Parse(r.Payload).RootElement.Clone(), attempts);
}
