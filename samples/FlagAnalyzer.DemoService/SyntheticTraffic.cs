using System.Diagnostics;

namespace FlagAnalyzer.DemoService;

/// <summary>
/// Synthetic requests: each gets a user, a flag evaluation over OFREP, and a server span carrying the OpenTelemetry
/// feature-flag event (<c>feature_flag.evaluation</c> with <c>feature_flag.key</c> and <c>feature_flag.result.variant</c>).
/// Requests that were served the "on" variant fail more often once <see cref="DemoOptions.RegressAfter"/> has passed.
/// </summary>
public sealed class SyntheticTraffic(FlagAnalyzerClient flags, Microsoft.Extensions.Options.IOptions<DemoOptions> options, TimeProvider clock,
    ILogger<SyntheticTraffic> logger) : BackgroundService
{
    public static readonly ActivitySource Source = new("FlagAnalyzer.DemoService");

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
        var rng = o.Seed is { } seed ? new Random(seed) : new Random();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / Math.Max(1, o.RequestsPerSecond)), clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var user = $"user-{rng.Next(100_000)}";
            using var span = Source.StartActivity("GET /checkout", ActivityKind.Server);
            var eval = await flags.EvaluateAsync(user, ct);
            var variant = eval?.Variant ?? "off";
            span?.AddEvent(new ActivityEvent("feature_flag.evaluation", tags: new ActivityTagsCollection
            {
                ["feature_flag.key"] = o.FlagKey,
                ["feature_flag.result.variant"] = variant,
                ["feature_flag.provider.name"] = "ofrep",
            }));
            span?.SetTag("http.request.method", "GET");
            var regressed = variant != "off" && clock.GetUtcNow() - started >= o.RegressAfter;
            var failed = rng.NextDouble() < o.BaseErrorRate * (regressed ? o.BadErrorFactor : 1);
            span?.SetTag("http.response.status_code", failed ? 500 : 200);
            if (failed) span?.SetStatus(ActivityStatusCode.Error, "synthetic failure");
        }
    }
}
