using System.Net;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// <c>cache</c> in <c>/health</c>: whether the shared Redis answers a PING within <see cref="Deadline"/>. Healthy with
/// Redis answering, Degraded (still HTTP 200) without it: Redis carries only the SignalR backplane and the change feed's
/// fast announcement, so without it flags stay correct (replicas follow the feed from the database) and live events reach
/// the clients of the replica that published them only. A stalled Redis (SIGSTOP) costs this check one deadline, nothing more.
/// </summary>
internal sealed class RedisHealthCheck(IServiceProvider services) : IHealthCheck
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(250);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (services.GetService<IConnectionMultiplexer>() is not { } redis)
            return HealthCheckResult.Degraded("degraded: no Redis (ConnectionStrings:cache is not set); replicas learn of changes by " +
                "polling the change feed, and live events reach this replica's clients only");
        var endpoint = string.Join(",", redis.GetEndPoints().Select(e => e is DnsEndPoint d ? $"{d.Host}:{d.Port}" : e.ToString()));
        if (!redis.IsConnected) return HealthCheckResult.Degraded($"degraded: no Redis ({endpoint} is unreachable)");
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(Deadline, ct);
            return HealthCheckResult.Healthy($"Redis at {endpoint}");
        }
        catch (Exception e) when (e is TimeoutException or RedisException)
        {
            return HealthCheckResult.Degraded($"degraded: no Redis ({endpoint} did not answer within {Deadline.TotalMilliseconds} ms)");
        }
    }
}

/// <summary>
/// <c>change-feed</c> in <c>/health</c>: the newest committed revision, the one this replica's snapshot reflects (the lag
/// between them), and the outbox rows not yet dispatched. Degraded while rows wait longer than their lease, or while the
/// snapshot stays behind: the feed is not being drained or followed.
/// </summary>
internal sealed class ChangeFeedHealthCheck(Db db, IFlagCache cache, ChangeFeed feed, TimeProvider clock) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var applied = cache.Revision;
        await using var conn = await db.OpenAsync(ct);
        var committed = await ChangeFeed.CurrentRevisionAsync(conn, null, ct);
        var overdueBefore = Common.Time.ToMs(clock.GetUtcNow()) - feed.LeaseMs;
        var (undispatched, overdue) = await conn.FirstOrDefaultAsync<(long, long)>(null,
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN created_at < @overdueBefore THEN 1 ELSE 0 END), 0) FROM flag_outbox WHERE dispatched_at IS NULL",
            new { overdueBefore }, ct);
        var lag = Math.Max(0, committed - applied);
        var data = new Dictionary<string, object>
        {
            ["revision"] = committed, ["appliedRevision"] = applied, ["lag"] = lag, ["undispatched"] = undispatched,
        };
        var detail = $"revision {committed}; this replica at {applied} (lag {lag}); {undispatched} outbox row(s) not yet dispatched";
        return overdue > 0
            ? HealthCheckResult.Degraded($"degraded: {overdue} outbox row(s) undispatched beyond their lease; {detail}", data: data)
            : HealthCheckResult.Healthy(detail, data);
    }
}
