using System.Diagnostics;
using System.Text;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// Wakes this replica's worker when something was queued or a chain finished (other replicas' rows and retries are found
/// by polling). A wake while nobody waits is kept for the next wait; every waiter of a wake is released, so a wait the
/// worker abandoned (it woke for a finished chain instead) cannot swallow the next one.
/// </summary>
public sealed class WebhookSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _pending;

    public void Wake()
    {
        TaskCompletionSource woken;
        lock (_lock)
        {
            _pending = true;
            woken = _next;
        }
        woken.TrySetResult();
    }

    /// <summary>Completes on the next wake (at once if one came since the last wait), on the timeout, or on cancellation.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_pending)
            {
                _pending = false;
                if (_next.Task.IsCompleted) _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
                return Task.CompletedTask;
            }
            return Task.WhenAny(_next.Task, Task.Delay(timeout, ct));
        }
    }
}

/// <summary>
/// One per replica: claims due work (a lease; <c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, so replicas never claim the
/// same row) as chains — a webhook's oldest undelivered event and up to <see cref="WebhookOptions.Batch"/> − 1 queued after
/// it — and sends each chain's events one after the other, signed, while chains of different webhooks run side by side.
/// The order rule: an event of a webhook is not attempted before every earlier event of that webhook was delivered or
/// given up (<see cref="WebhookOptions.MaxAttempts"/>); a chain stops at its first failure and gives the rest back. Every
/// attempt is recorded, one transaction per chain. At least once: a replica that dies after a POST and before recording
/// it leaves the lease to run out, and the event is sent again.
/// </summary>
public sealed class WebhookWorker(Db db, IHttpClientFactory http, TimeProvider clock, IOptions<WebhookOptions> options, WebhookSignal signal,
    WebhookSecrets secrets, ILogger<WebhookWorker> log) : BackgroundService
{
    public const string ClientName = "webhooks";
    private readonly string _owner = Guid.NewGuid().ToString("N");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var running = new List<Task>();
        var workers = Math.Max(1, o.Workers);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                running.RemoveAll(t => t.IsCompleted);
                var claimed = 0;
                if (running.Count < workers)
                {
                    List<List<DueDelivery>> chains;
                    var now = Time.ToMs(clock.GetUtcNow());
                    await using (var s = await WebhookStore.BeginAsync(db, stoppingToken))
                    {
                        chains = await WebhookStore.ClaimAsync(s, _owner, now, (long)(o.LeaseSeconds * 1000), workers - running.Count,
                            Math.Max(1, o.Batch), stoppingToken);
                        await s.CommitAsync(stoppingToken);
                    }
                    claimed = chains.Count;
                    foreach (var chain in chains) running.Add(Task.Run(() => RunChainAsync(chain, stoppingToken), CancellationToken.None));
                }
                if (claimed > 0 && running.Count < workers) continue;
                // wait for new work, a chain to finish (its webhook's next events are due at once), or the poll
                var wait = signal.WaitAsync(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken);
                await (running.Count == 0 ? wait : Task.WhenAny(running.Append(wait)));
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "Webhook worker pass failed; retrying");
                try { await Task.Delay(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
        try { await Task.WhenAll(running); } catch { /* each chain logs its own failure */ }
    }

    /// <summary>Sends a chain in order, stopping at the first failure, then records what was tried and gives back the rest.</summary>
    private async Task RunChainAsync(List<DueDelivery> chain, CancellationToken ct)
    {
        var o = options.Value;
        var results = new List<(DueDelivery Delivery, WebhookAttempt Attempt, bool Ok)>(chain.Count);
        try
        {
            var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(o.TimeoutSeconds);
            foreach (var d in chain)
            {
                // a slow receiver may hold its own chain up to about one timeout, then the rest waits for the next claim
                if (results.Count > 0 && clock.GetUtcNow() > deadline) break;
                var (attempt, ok) = await DeliverAsync(d, ct);
                results.Add((d, attempt, ok));
                if (!ok) break;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down: record what was sent; the rest is given back below
        }
        try
        {
            await using var s = await WebhookStore.BeginAsync(db, CancellationToken.None);
            foreach (var (d, attempt, ok) in results)
            {
                await WebhookStore.RecordAttemptAsync(s, d, _owner, attempt, ok, o, clock, CancellationToken.None);
                if (!ok) log.LogInformation("Webhook {WebhookId} delivery {DeliveryId} attempt {Attempt} failed: {Status} {Error}",
                    d.WebhookId, d.Id, d.Attempts + 1, attempt.StatusCode, attempt.Error);
            }
            await WebhookStore.ReleaseAsync(s, _owner, chain.Skip(results.Count).Select(d => d.Seq).ToList(), CancellationToken.None);
            await s.CommitAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // not recorded: the leases run out and these events are sent again (at least once)
            log.LogWarning(ex, "Recording {Count} webhook attempt(s) failed; they will be retried after their lease", results.Count);
        }
        if (results.Count > 0) signal.Wake();
    }

    private async Task<(WebhookAttempt, bool)> DeliverAsync(DueDelivery d, CancellationToken ct)
    {
        var o = options.Value;
        var at = clock.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        long? status = null;
        string? error = null;
        var secret = d.SecretSealed ? secrets.Open(d.WebhookId, d.Secret) : d.Secret;
        if (secret is null)
            return (new WebhookAttempt(at, null, 0, "the webhook's secret cannot be decrypted with this replica's Webhooks:SecretKey; nothing was sent"), false);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, d.Url) { Content = new StringContent(d.Payload, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.Sign(secret, at.ToUnixTimeSeconds(), d.Payload));
            request.Headers.TryAddWithoutValidation("X-FlagAnalyzer-Event", d.Event);
            request.Headers.TryAddWithoutValidation("X-FlagAnalyzer-Delivery", d.Id);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
            using var response = await http.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (long)response.StatusCode;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = $"timed out after {o.TimeoutSeconds} s";
        }
        catch (HttpRequestException ex)
        {
            error = ex.Message;
        }
        var attempt = new WebhookAttempt(at, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error);
        return (attempt, status is >= 200 and < 300);
    }
}
