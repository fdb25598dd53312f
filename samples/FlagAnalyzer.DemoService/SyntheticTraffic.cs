using System.Diagnostics;

namespace FlagAnalyzer.DemoService;

/// <summary>
/// Synthetic requests: each gets a user, a flag evaluation over OFREP, and a server span carrying the OpenTelemetry
/// feature-flag event (<c>feature_flag.evaluation</c> with <c>feature_flag.key</c> and <c>feature_flag.result.variant</c>).
/// Requests that were served the "on" variant fail more often once <see cref="DemoOptions.RegressAfter"/> has passed, or,
/// with <see cref="DemoOptions.RegressFromPercent"/>, once the rollout has reached that percentage.
/// </summary>
public sealed class SyntheticTraffic(FlagAnalyzerClient flags, Microsoft.Extensions.Options.IOptions<DemoOptions> options, TimeProvider clock,
    ILogger<SyntheticTraffic> logger) : BackgroundService
{
    public static readonly ActivitySource Source = new("FlagAnalyzer.DemoService");

    private volatile bool _rolloutReached;
    private long _failures;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var o = options.Value;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await flags.SetUpAsync(ct);
                break;
            }
            catch (HttpRequestException ex)
            {
                logger.LogInformation("Waiting for the API: {Message}", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), clock, ct);
            }
        }

        var started = clock.GetUtcNow();
        var watch = o.RegressFromPercent is { } from ? WatchRolloutAsync(from, ct) : Task.CompletedTask;
        var rng = o.Seed is { } seed ? new Random(seed) : new Random();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / Math.Max(1, o.RequestsPerSecond)), clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var user = $"user-{rng.Next(100_000)}";
            using var span = Source.StartActivity("GET /checkout", ActivityKind.Server);
            FlagAnalyzerClient.Evaluation eval;
            try
            {
                eval = await flags.EvaluateAsync(user, ct);
            }
            catch (HttpRequestException ex)
            {
                eval = new FlagAnalyzerClient.Evaluation(null, null, default, ex.GetType().Name);
            }
            // an evaluation that failed serves the default ("off") but names no variant: OpenTelemetry's convention records
            // it with error.type, and counting it as "off" would tilt the cohorts towards control whenever the API stumbles
            var variant = eval.Variant ?? "off";
            var tags = new ActivityTagsCollection { ["feature_flag.key"] = o.FlagKey, ["feature_flag.provider.name"] = "ofrep" };
            if (eval.Error is { } error)
            {
                tags["feature_flag.result.reason"] = "error";
                tags["error.type"] = error;
                if (Interlocked.Increment(ref _failures) is var n && (n == 1 || n % 100 == 0))
                    logger.LogWarning("Evaluating {Flag} failed ({Error}); {Failures} failed evaluations so far, recorded without a variant", o.FlagKey, error, n);
            }
            else tags["feature_flag.result.variant"] = variant;
            span?.AddEvent(new ActivityEvent("feature_flag.evaluation", tags: tags));
            span?.SetTag("http.request.method", "GET");
            var regressed = variant != "off" && (o.RegressFromPercent is null ? clock.GetUtcNow() - started >= o.RegressAfter : _rolloutReached);
            var failed = rng.NextDouble() < o.BaseErrorRate * (regressed ? o.BadErrorFactor : 1);
            span?.SetTag("http.response.status_code", failed ? 500 : 200);
            if (failed) span?.SetStatus(ActivityStatusCode.Error, "synthetic failure");
        }
        await watch;
    }

    /// <summary>Reads the flag twice a second until its rollout reaches <paramref name="percent"/>; from then on the bug shows.</summary>
    private async Task WatchRolloutAsync(double percent, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    if (await flags.RolloutAsync(ct) is not { } rollout || rollout < percent) continue;
                    _rolloutReached = true;
                    logger.LogInformation("Rollout at {Rollout} %: the \"on\" variant now fails {Factor}× as often", rollout, options.Value.BadErrorFactor);
                    return;
                }
                catch (HttpRequestException ex)
                {
                    logger.LogInformation("Reading the rollout failed: {Message}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
