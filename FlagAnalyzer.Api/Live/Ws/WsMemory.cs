using System.Runtime;

namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// Gives memory back after a slow <c>/ws</c> client left. Its queue was large objects (events over 85 KB live on
/// the large object heap), which the GC neither compacts nor returns to the OS by itself while the process is
/// otherwise quiet, so RSS stayed at its peak. One aggressive, compacting collection — at most once per
/// <see cref="MinInterval"/>, only when a socket that had to drop messages or held over a quarter of its cap
/// leaves — returns it. It blocks for tens of milliseconds on a few hundred MB; a slow client leaving is rare.
/// </summary>
internal static class WsMemory
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    private static long _last = long.MinValue / 2;
    private static int _running;

    public static void Release(ILogger logger)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _last);
        if (now - last < MinInterval.TotalMilliseconds || Interlocked.CompareExchange(ref _last, now, last) != last) return;
        if (Interlocked.Exchange(ref _running, 1) == 1) return;
        // off the request's thread; the socket's queue is already unreferenced
        _ = Task.Run(() =>
        {
            try
            {
                var before = Environment.WorkingSet;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                logger.LogInformation("A slow /ws client left; memory given back: working set {Before} -> {After} MiB",
                    before / 1048576, Environment.WorkingSet / 1048576);
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }
        });
    }
}
