using Microsoft.Extensions.Options;
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
            return HealthCheckResult.Degraded(services.GetRequiredService<IFlagCache>() is not NoFlagCache
                ? "degraded: no Redis (ConnectionStrings:cache is not set); flags are cached in this process only"
                : services.GetRequiredService<IOptions<FlagCacheOptions>>().Value.Enabled
                    // PostgreSQL without Redis (FlagsExtensions): no cache, so that replicas never disagree
                    ? "degraded: no Redis (ConnectionStrings:cache is not set); every flag read goes to PostgreSQL, so replicas agree"
                    : $"degraded: no Redis (FlagCache:Enabled is false); every flag read goes to {StoreName()}");
        if (redis.CircuitOpen)
            return HealthCheckResult.Degraded(
                $"degraded: no Redis ({redis.Endpoint} has not answered since {redis.CircuitOpenedAt:HH:mm:ss.fff}Z); flags are read from {StoreName()}");
        return await redis.PingAsync()
            ? HealthCheckResult.Healthy($"Redis at {redis.Endpoint}")
            : HealthCheckResult.Degraded($"degraded: no Redis ({redis.Endpoint} is unreachable); flags are read from {StoreName()}");
    }

    private string StoreName() => services.GetRequiredService<Storage.Db>().Provider == Storage.DbProvider.Postgres ? "PostgreSQL" : "SQLite";
}
