using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Metrics;
using System.Collections.Concurrent;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>
/// Per flag and environment window aggregates kept in memory, so detection on a metrics write reads only the new rows instead
/// of the flag's whole history. Each pass stamps a fresh random token into <c>analysis_windows</c> inside the
/// write transaction (<see cref="AnalysisStore.ReadInputsAsync"/>, which also reads the one it replaces); a cached
/// window is used only while its token is the committed one, so a rolled-back write (whose samples never landed), or a
/// write by another replica, sends the next pass back to the database to rebuild.
/// </summary>
public sealed class FlagWindowCache
{
    private sealed class Entry(string anchorId, FlagWindow window)
    {
        public string AnchorId { get; } = anchorId;
        public FlagWindow Window { get; } = window;
        public string? Token { get; set; }
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Rebuilds from SQLite since the process started (a number for tests and diagnostics).</summary>
    public int Rebuilds => _rebuilds;
    private int _rebuilds;

    /// <summary>
    /// The flag's window, brought up to date with every committed and in-transaction sample; call inside the write
    /// scope, after <see cref="AnalysisStore.ReadInputsAsync"/> read <paramref name="committedToken"/> and stamped
    /// <paramref name="newToken"/>. <paramref name="recorded"/> are this transaction's new samples of the flag, when the caller has them:
    /// while the token matches, every committed sample is already in the window (each write stamps a new token),
    /// so the only rows missing are this transaction's, and they need no read. Their ids may be below the window's
    /// <see cref="FlagWindow.LastSampleId"/>: on PostgreSQL groups for one flag copy at once and take turns only for
    /// detection, so a group that reserved its ids later may have committed first.
    /// </summary>
    public async Task<FlagWindow> GetAsync(WriteScope s, FlagInEnvironment flag, Anchor? anchor, string? committedToken, string newToken,
        CancellationToken ct, IReadOnlyList<MetricSample>? recorded = null)
    {
        var (flagId, environment) = flag;
        var cacheKey = KeyOf(flag);
        var anchorId = anchor?.ChangeId ?? "";
        if (!_entries.TryGetValue(cacheKey, out var entry) || entry.AnchorId != anchorId || entry.Token is null || entry.Token != committedToken)
        {
            var history = await MetricStore.NewestFirstAsync(s, flagId, environment, MetricHistory.MaxSamples, ct);
            entry = new Entry(anchorId, FlagWindow.Build(anchor?.Timestamp, history));
            Interlocked.Increment(ref _rebuilds);
        }
        else
        {
            var last = entry.Window.LastSampleId;
            var fresh = recorded is not null
                ? recorded.OrderBy(m => m.Id)
                : (IEnumerable<MetricSample>)await MetricStore.SamplesAfterAsync(s, flagId, environment, last, ct);
            foreach (var sample in fresh) entry.Window.Add(sample);
        }

        entry.Token = newToken;
        _entries[cacheKey] = entry;
        return entry.Window;
    }

    public void Forget(FlagInEnvironment flag) => _entries.TryRemove(KeyOf(flag), out _);

    /// <summary>Every environment's window of the flag (it was deleted).</summary>
    public void Forget(string flagId)
    {
        foreach (var key in _entries.Keys)
            if (key.StartsWith(flagId + "\n", StringComparison.Ordinal)) _entries.TryRemove(key, out _);
    }

    // a flag id never holds a line break
    private static string KeyOf(FlagInEnvironment flag) => flag.FlagId + "\n" + flag.Environment;
}
