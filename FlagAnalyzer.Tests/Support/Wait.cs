namespace FlagAnalyzer.Tests.Support;

public static class Wait
{
    /// <summary>
    /// How long a test waits for something to arrive from another replica or connection (a change, a revocation, a
    /// close). Generous on purpose: on a loaded 2-core CI machine a test asserts that it arrives, not how fast; the
    /// sub-second targets are measured on a quiet machine by the benchmarks (benchmarks/README.md).
    /// </summary>
    public static readonly TimeSpan Arrival = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Polls until true or the deadline (10 s unless given). Only for what happens in another process or
    /// connection without a signal a test can await: a pub/sub delivery to another replica, the Redis client's
    /// reconnect, a background probe noticing Redis.
    /// </summary>
    public static async Task<bool> Until(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return true;
            await Task.Delay(50);
        }
        return await condition();
    }
}
