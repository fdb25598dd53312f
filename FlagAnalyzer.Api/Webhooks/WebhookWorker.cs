using System.Diagnostics;
using System.Text;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>Wakes this replica's worker when it queued something (other replicas' rows and retries are found by polling).</summary>
public sealed class WebhookSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        if (_wake.CurrentCount == 0)
            try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _wake.WaitAsync(timeout, ct);
}

/// <summary>
/// One per replica: claims due deliveries (a lease; <c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, so replicas never claim
/// the same row), each the oldest undelivered event of its webhook, posts them signed, and records every attempt. At
/// least once: a replica that dies after the POST and before recording it leaves the lease to run out, and the event is
/// sent again.
/// </summary>
public sealed class WebhookWorker(Db db, IHttpClientFactory http, TimeProvider clock, IOptions<WebhookOptions> options, WebhookSignal signal,
    ILogger<WebhookWorker> log) : BackgroundService
{
    public const string ClientName = "webhooks";
    private readonly string _owner = Guid.NewGuid().ToString("N");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                List<DueDelivery> due;
                var now = Time.ToMs(clock.GetUtcNow());
                await using (var s = await WebhookStore.BeginAsync(db, stoppingToken))
                {
                    due = await WebhookStore.ClaimAsync(s, _owner, now, (long)(o.LeaseSeconds * 1000), Math.Max(1, o.Workers), stoppingToken);
                    await s.CommitAsync(stoppingToken);
                }
                if (due.Count > 0)
                {
                    var results = await Task.WhenAll(due.Select(d => DeliverAsync(d, stoppingToken)));
                    await RecordAsync(results);
                    continue;
                }
                await signal.WaitAsync(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "Webhook worker pass failed; retrying");
                try { await Task.Delay(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One transaction for a pass's attempts: on SQLite every write transaction queues behind the flag writes.</summary>
    private async Task RecordAsync((DueDelivery Delivery, WebhookAttempt Attempt, bool Ok)[] results)
    {
        var o = options.Value;
        await using var s = await WebhookStore.BeginAsync(db, CancellationToken.None);
        foreach (var (d, attempt, ok) in results)
        {
            await WebhookStore.RecordAttemptAsync(s, d, _owner, attempt, ok, o, clock, CancellationToken.None);
            if (!ok) log.LogInformation("Webhook {WebhookId} delivery {DeliveryId} attempt {Attempt} failed: {Status} {Error}",
                d.WebhookId, d.Id, d.Attempts + 1, attempt.StatusCode, attempt.Error);
        }
        await s.CommitAsync(CancellationToken.None);
    }

    private async Task<(DueDelivery, WebhookAttempt, bool)> DeliverAsync(DueDelivery d, CancellationToken ct)
    {
        var o = options.Value;
        var at = clock.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        long? status = null;
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, d.Url) { Content = new StringContent(d.Payload, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.Sign(d.Secret, at.ToUnixTimeSeconds(), d.Payload));
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
        return (d, attempt, status is >= 200 and < 300);
    }
}
