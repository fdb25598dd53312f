using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace FlagAnalyzer.Api.Evaluation.Exposures;

/// <summary>One flag's served count in one environment for one variant in one minute (Unix ms of the minute's start).</summary>
public readonly record struct ExposureKey(string FlagId, string Environment, string Variant, long Minute);

/// <summary>
/// Counts evaluations per flag, variant and minute in memory; <see cref="Drain"/> hands the counts to the flusher,
/// so serving a flag never writes to the database.
/// </summary>
public sealed class ExposureCounter(TimeProvider clock) : FlagAnalyzer.Api.Common.IExposureCounts
{
    private readonly ConcurrentDictionary<ExposureKey, StrongBox<long>> _counts = new();

    /// <param name="environment">The environment evaluated (the OFREP caller's); null: the compiled configuration's own
    /// (<see cref="CompiledFlag.Environment"/>).</param>
    public void Record(CompiledFlag flag, string variant, string? environment = null)
    {
        if (flag.FlagId is null) return;
        var minute = clock.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var box = _counts.GetOrAdd(new ExposureKey(flag.FlagId, environment ?? flag.Environment, variant, minute), static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    /// <summary>Counts reported from outside (OTLP metrics), in the minute they were served.</summary>
    public void Add(string flagId, string environment, string variant, DateTimeOffset at, long count)
    {
        if (count <= 0) return;
        var minute = at.ToUnixTimeMilliseconds() / 60_000 * 60_000;
        Interlocked.Add(ref _counts.GetOrAdd(new ExposureKey(flagId, environment, variant, minute), static _ => new StrongBox<long>()).Value, count);
    }

    /// <summary>Takes every count recorded so far (zeroing them) and forgets minutes that are over.</summary>
    public List<(ExposureKey Key, long Count)> Drain()
    {
        var current = clock.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var taken = new List<(ExposureKey, long)>();
        foreach (var (key, box) in _counts)
        {
            var n = Interlocked.Exchange(ref box.Value, 0);
            if (n > 0) taken.Add((key, n));
            if (key.Minute < current) _counts.TryRemove(new KeyValuePair<ExposureKey, StrongBox<long>>(key, box));
        }
        return taken;
    }

    /// <summary>Counts not yet flushed, for one flag in one environment (so the flag page shows them before the next flush).</summary>
    public IEnumerable<(ExposureKey Key, long Count)> Pending(string flagId, string environment) =>
        _counts.Where(c => c.Key.FlagId == flagId && c.Key.Environment == environment && Volatile.Read(ref c.Value.Value) > 0).Select(c => (c.Key, Volatile.Read(ref c.Value.Value)));

    /// <summary>Puts counts back after a failed flush, so they are written by the next one.</summary>
    public void Restore(IEnumerable<(ExposureKey Key, long Count)> counts)
    {
        foreach (var (key, n) in counts)
            Interlocked.Add(ref _counts.GetOrAdd(key, static _ => new StrongBox<long>()).Value, n);
    }
}
