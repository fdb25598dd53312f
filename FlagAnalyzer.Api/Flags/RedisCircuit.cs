using StackExchange.Redis;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// The flag cache's circuit breaker around Redis. Every call gets a short deadline; the first call that times
/// out or loses its connection opens the circuit, and from then on callers check <see cref="IsOpen"/> and
/// skip Redis (a read goes to SQLite) without waiting. Only the cache's background probe closes it again, so
/// no request ever pays a second timeout for the same outage.
/// </summary>
/// <remarks>
/// Not Polly's breaker: it cannot open on the first failure (minimum throughput is at least 2) and its
/// half-open trial is a caller's request, which then pays the timeout; here the trial is a background PING.
/// </remarks>
internal sealed class RedisCircuit(TimeSpan timeout)
{
    private volatile bool _open;

    public TimeSpan Timeout => timeout;

    public bool IsOpen => _open;

    /// <summary>When the circuit last opened (for health).</summary>
    public DateTimeOffset OpenedAt { get; private set; }

    /// <summary>Raised once per outage, on the call that opened the circuit.</summary>
    public event Action<Exception>? Opened;

    /// <summary>
    /// Awaits <paramref name="call"/> for at most <see cref="Timeout"/>. A timeout or a lost connection opens the
    /// circuit and is rethrown (as <see cref="TimeoutException"/> or <see cref="RedisConnectionException"/>).
    /// </summary>
    public async Task<T> CallAsync<T>(Task<T> call)
    {
        try
        {
            return await call.WaitAsync(timeout);
        }
        catch (Exception e) when (IsOutage(e))
        {
            // the abandoned call still completes (or times out inside the client) later; observe it
            _ = call.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            Trip(e);
            throw;
        }
    }

    public Task CallAsync(Task call) => CallAsync(call.ContinueWith(static t => { t.GetAwaiter().GetResult(); return true; },
        TaskScheduler.Default));

    /// <summary>Opens the circuit (also when the multiplexer reports a lost connection).</summary>
    public void Trip(Exception reason)
    {
        if (_open) return;
        lock (this)
        {
            if (_open) return;
            OpenedAt = DateTimeOffset.UtcNow;
            _open = true;
        }
        Opened?.Invoke(reason);
    }

    /// <summary>Closes the circuit; returns true when it was open.</summary>
    public bool Close()
    {
        lock (this)
        {
            var was = _open;
            _open = false;
            return was;
        }
    }

    /// <summary>A timeout, or a connection that is gone: Redis cannot answer. Script or protocol errors are not outages.</summary>
    public static bool IsOutage(Exception e) => e is TimeoutException or RedisConnectionException;
}
