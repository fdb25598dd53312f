using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// Writes the aggregator's closed intervals as metric samples: every few seconds those that ended at least
/// <see cref="TelemetryOptions.FlushDelay"/> ago, and everything on a clean stop. One write per flush; a failed
/// write gives its buckets back to the aggregator, to be retried on the next tick.
/// </summary>
public sealed class ImpactFlusher(ImpactAggregator aggregator, IImpactSampleWriter writer, IOptions<TelemetryOptions> options,
    TimeProvider clock, ILogger<ImpactFlusher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly TelemetryOptions _options = options.Value;

    /// <summary>How often closed intervals are looked for: a quarter interval, between 50 ms and 5 s.</summary>
    public TimeSpan Period => TimeSpan.FromTicks(Math.Clamp(_options.SampleInterval.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync(all: false, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // a clean stop loses nothing: the open intervals are written too (within the host's shutdown timeout)
        try
        {
            await FlushAsync(all: true, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the host gave up waiting: say so rather than fail the whole shutdown
            logger.LogWarning("The shutdown timeout ended the final telemetry flush; the samples not yet written are lost");
        }
    }

    /// <summary>Writes the closed intervals (or all of them); returns how many samples were stored.</summary>
    public async Task<int> FlushAsync(bool all, CancellationToken ct)
    {
        await _oneAtATime.WaitAsync(ct);
        try
        {
            var buckets = aggregator.Take(all ? null : clock.GetUtcNow() - _options.FlushDelay);
            if (buckets.Count == 0) return 0;
            var samples = buckets.Select(b => b.ToSample()).ToList();
            try
            {
                await writer.WriteAsync(samples, ct);
                return samples.Count;
            }
            catch (Exception ex)
            {
                aggregator.Return(buckets);
                if (ex is OperationCanceledException) throw;
                logger.LogError(ex, "Writing {Count} telemetry samples failed; they are kept for the next flush", samples.Count);
                return 0;
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }
}
