using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// Failed key attempts (unknown or revoked keys) per client address, in a fixed window
/// (<see cref="AccessOptions.FailedAttemptLimit"/> per <see cref="AccessOptions.FailedAttemptWindow"/>). Once
/// spent, requests from that address without a valid key (a bad key, or none where one is needed) are answered 429
/// with <c>Retry-After</c> until the window ends; a valid key is still served. The address is the peer's, or the
/// client a configured proxy names (<see cref="AccessOptions.KnownProxiesSection"/>).
/// </summary>
public sealed class FailedAttempts : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly TimeSpan _window;

    public FailedAttempts(IOptions<AccessOptions> options)
    {
        var o = options.Value;
        _window = o.FailedAttemptWindow;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, o.FailedAttemptLimit), Window = o.FailedAttemptWindow, QueueLimit = 0 }));
    }

    public static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress is { } ip
        ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
        : IPAddress.None.ToString();

    /// <summary>Null while the address may still try; else how long it must wait.</summary>
    public TimeSpan? Blocked(string address)
    {
        // zero permits asks whether any are left without spending one
        using var lease = _limiter.AttemptAcquire(address, 0);
        return lease.IsAcquired ? null : RetryAfter(lease);
    }

    /// <summary>Counts one failure; returns how long to wait when that was the last one allowed.</summary>
    public TimeSpan? Fail(string address)
    {
        using var lease = _limiter.AttemptAcquire(address);
        return lease.IsAcquired ? null : RetryAfter(lease);
    }

    private TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : _window;

    public void Dispose() => _limiter.Dispose();
}
