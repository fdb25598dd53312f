using StackExchange.Redis;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// The process's one Redis connection (<see cref="IConnectionMultiplexer"/>), from <c>ConnectionStrings:cache</c>:
/// the flag cache, the SignalR backplane and the <c>/ws</c> bridge all use it, so a process holds one
/// connection pair (commands, subscriptions) instead of three. Without the connection string nothing is
/// registered and each user falls back to its single-process mode.
/// </summary>
public static class RedisConnection
{
    /// <summary>The Aspire resource (and connection string) name of the shared Redis.</summary>
    public const string Name = "cache";

    public static bool IsConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.GetConnectionString(Name));

    /// <summary>
    /// Registers the multiplexer (created on first use; it connects in the background and never throws for a
    /// Redis that is down: abortConnect=false). Returns whether Redis is configured.
    /// </summary>
    public static bool AddRedisConnection(this IHostApplicationBuilder builder)
    {
        if (!IsConfigured(builder.Configuration)) return false;
        builder.AddRedisClient(Name,
            // the flag cache's "cache" check reports Redis as degraded, not unhealthy: the API works without it
            settings => settings.DisableHealthChecks = true,
            options =>
            {
                options.AbortOnConnectFail = false;
                // while disconnected, fail at once (a flag read goes to SQLite, a live event is delivered locally
                // or dropped) instead of queueing for seconds
                options.BacklogPolicy = BacklogPolicy.FailFast;
                options.ReconnectRetryPolicy = new ExponentialRetry(500, 5000);
            });
        return true;
    }

    /// <summary>
    /// Creates the shared multiplexer (if Redis is configured), then the tracer provider whose Redis instrumentation
    /// profiles it, before any service that uses them is resolved. The container disposes singletons in reverse
    /// order of creation, so both are then disposed after everything else: the SignalR backplane, created when its
    /// hub is mapped, unsubscribes on the connection (through the instrumentation's profiler) during its own disposal.
    /// </summary>
    public static void CreateFirst(IServiceProvider services)
    {
        if (services.GetService<IConnectionMultiplexer>() is null) return;
        services.GetService<OpenTelemetry.Trace.TracerProvider>();
    }
}
