using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// <c>cache</c> in <c>/health</c>: Healthy with Redis answering, Degraded (still HTTP 200) without it, since
/// flags are then read from SQLite and nothing is lost. "Answering" is the flag cache's own circuit: Degraded from
/// the first timeout until a probe gets an answer, and the check itself never waits longer than one Redis timeout.
/// </summary>
internal sealed class FlagCacheHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (services.GetService<RedisFlagCache>() is not { } redis)
            return HealthCheckResult.Degraded(services.GetRequiredService<IFlagCache>() is NoFlagCache
                ? "degraded: no Redis (FlagCache:Enabled is false); every flag read goes to SQLite"
                : "degraded: no Redis (ConnectionStrings:cache is not set); flags are cached in this process only");
        if (redis.CircuitOpen)
            return HealthCheckResult.Degraded(
                $"degraded: no Redis ({redis.Endpoint} has not answered since {redis.CircuitOpenedAt:HH:mm:ss.fff}Z); flags are read from SQLite");
        return await redis.PingAsync()
            ? HealthCheckResult.Healthy($"Redis at {redis.Endpoint}")
            : HealthCheckResult.Degraded($"degraded: no Redis ({redis.Endpoint} is unreachable); flags are read from SQLite");
    }
}
