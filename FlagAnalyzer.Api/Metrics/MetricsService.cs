using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>
/// Samples to store, already validated (<see cref="MetricsApi.Validate"/>): each <c>FlagId</c> is a flag's id or
/// name, each timestamp set. All of them are stored in one transaction, or none.
/// </summary>
/// <param name="Caller">Who sent them: a key scoped to an environment may send samples only for that environment — a
/// sample naming none is its flag's home's (<see cref="FlagScope"/>); any other is answered as an unknown flag.</param>
public sealed record RecordMetricsRequest(IReadOnlyList<MetricSample> Samples, Actor? Caller = null);

/// <summary>The outcome of <see cref="MetricsService.RecordAsync"/>.</summary>
public abstract record RecordMetricsResult
{
    private RecordMetricsResult() { }

    public sealed record Recorded(MetricsAccepted Accepted) : RecordMetricsResult;

    /// <summary>No flag has the id or name <paramref name="Key"/>, first given by sample <paramref name="Index"/>; nothing was stored.</summary>
    public sealed record FlagNotFound(string Key, int Index) : RecordMetricsResult;
}

public sealed record MetricsAccepted(int Accepted, IReadOnlyList<Anomaly> Anomalies);

/// <summary>The <c>metrics.recorded</c> payload: counts per flag, not the samples themselves.</summary>
public sealed record MetricsRecorded(string FlagId, int Count, DateTimeOffset From, DateTimeOffset To, MetricSample Latest)
{
    /// <summary>The environment the samples are of (one event per flag and environment).</summary>
    public string Environment { get; init; } = "";
}

/// <summary>
/// The metrics write: samples, detection and guardian rollbacks commit together; live events follow the commit.
/// Concurrent requests share one transaction (<see cref="GroupCommit{TItem,TResult}"/>): a writer takes every
/// request queued while the previous group committed (on PostgreSQL: while it took its flags' ingest lock), resolves their
/// flags, inserts their samples and runs detection once for the group, commits, and only then answers each request. On
/// PostgreSQL groups for one flag copy their samples at once (<see cref="WriteLock.Ingest"/>) and take turns only for
/// detection (<see cref="WriteLock.Flags"/> after the copy). A 2xx still means stored, and
/// single-sample posts no longer queue one by one for SQLite's write lock. A request whose flag does not exist when
/// its group's transaction runs is answered <see cref="RecordMetricsResult.FlagNotFound"/> and stores nothing; the
/// others in its group are not affected.
/// </summary>
public sealed class MetricsService : IAsyncDisposable
{
    private readonly Db _db;
    private readonly IMetricsDetection _detection;
    private readonly IFlagLookup _flags;
    private readonly ILiveEventPublisher _live;
    private readonly GroupCommit<RecordMetricsRequest, RecordMetricsResult> _commit;

    public MetricsService(Db db, IMetricsDetection detection, IFlagLookup flags, ILiveEventPublisher live)
    {
        _db = db;
        _detection = detection;
        _flags = flags;
        _live = live;
        // PostgreSQL locks per flag: a group may start while another holds its flags' locks (SQLite has one writer)
        _commit = new GroupCommit<RecordMetricsRequest, RecordMetricsResult>(CommitGroupAsync, maxGroup: 256, capacity: 10_000,
            maxConcurrent: db.Provider == DbProvider.Postgres ? MaxConcurrentGroups : 1);
    }

    /// <summary>Requests and groups committed so far (for benchmarks).</summary>
    public (long Groups, long Requests) GroupStats => _commit.Stats;

    /// <summary>Requests queued for a group so far, committed or not (for tests).</summary>
    public long QueuedRequests => _commit.Queued;

    public Task<RecordMetricsResult> RecordAsync(RecordMetricsRequest request, CancellationToken ct) => _commit.SubmitAsync(request, ct);

    /// <summary>Groups in flight at once on PostgreSQL: they copy their samples alongside, and wait for each other only where
    /// they detect on the same flags.</summary>
    private const int MaxConcurrentGroups = 4;

    /// <summary>
    /// The flags the keys name, in a transaction begun with <see cref="WriteLock.None"/>: takes the found flags' ingest lock
    /// (<see cref="WriteLock.Ingest"/>, shared with other ingests), then reads them again by id, since a writer that held a
    /// flag's lock may have deleted or moved its flag meanwhile. A name stays resolved to the flag it named before the lock.
    /// </summary>
    private async Task<Dictionary<string, FlagRef>> ResolveForWriteAsync(WriteScope scope, IReadOnlyList<string> keys, CancellationToken ct)
    {
        var seen = await _flags.ResolveAsync(scope.Connection, scope.Transaction, keys, ct);
        await scope.LockAsync(WriteLock.Ingest(seen.Values.Select(f => f.Id)), ct);
        if (scope.Provider == DbProvider.Sqlite) return seen;
        var now = await _flags.ResolveAsync(scope.Connection, scope.Transaction, seen.Values.Select(f => f.Id).Distinct(StringComparer.Ordinal), ct);
        var ids = new Dictionary<string, FlagRef>(StringComparer.Ordinal);
        foreach (var (key, flag) in seen)
            if (now.TryGetValue(flag.Id, out var current)) ids[key] = current;
        return ids;
    }

    private async Task<IReadOnlyList<RecordMetricsResult>> CommitGroupAsync(IReadOnlyList<RecordMetricsRequest> group, Action locked,
        CancellationToken ct)
    {
        var results = new RecordMetricsResult[group.Count];
        var samples = new List<MetricSample>();
        var spans = new (int Start, int Count, HashSet<string> FlagIds)?[group.Count];
        List<MetricSample> stored;
        List<Written> written;
        MetricsDetected? detected = null;
        await using (var scope = await _db.BeginWriteAsync(WriteLock.None, ct))
        {
            // inside the transaction and under the flags' ingest lock: a flag deleted a moment ago cannot receive samples
            // (no orphan rows), while other groups for the same flags copy their samples alongside
            var ids = await ResolveForWriteAsync(scope, group.SelectMany(r => r.Samples.Select(m => m.FlagId)).Distinct(StringComparer.Ordinal).ToList(), ct);
            locked();
            for (var r = 0; r < group.Count; r++)
            {
                var given = group[r].Samples;
                var missing = -1;
                for (var i = 0; i < given.Count && missing < 0; i++)
                    if (!ids.TryGetValue(given[i].FlagId, out var known) || !group[r].Caller.Sees(EnvironmentOf(given[i], known))) missing = i;
                if (missing >= 0)
                {
                    results[r] = new RecordMetricsResult.FlagNotFound(given[missing].FlagId, missing);
                    continue;
                }
                var flagIds = new HashSet<string>(StringComparer.Ordinal);
                var start = samples.Count;
                foreach (var m in given)
                {
                    var known = ids[m.FlagId];
                    flagIds.Add(known.Id);
                    samples.Add(m.FlagId == known.Id && m.Environment.Length > 0 ? m : m with { FlagId = known.Id, Environment = EnvironmentOf(m, known) });
                }
                spans[r] = (start, given.Count, flagIds);
            }
            if (samples.Count == 0) return results;
            stored = await MetricStore.InsertAsync(scope, samples, ct);
            written = Written.Of(stored);
            // detection's read-check-write (window token, anomalies, rollback) one group at a time per flag; what a group
            // committed meanwhile is in the window already, and this group's own samples are passed in
            await scope.LockAsync(WriteLock.Flags(written.Select(w => w.Key.FlagId)), ct);
            detected = await _detection.DetectAsync(scope, written.ConvertAll(w => w.Key), stored, ct);
            await scope.CommitAsync(ct);
        }

        foreach (var w in written)
        {
            await _live.PublishAsync(new LiveEvent(LiveEventTypes.MetricsRecorded,
                new MetricsRecorded(w.Key.FlagId, w.Count, w.From, w.Latest.Timestamp, w.Latest) { Environment = w.Key.Environment },
                w.Key.FlagId) { Environment = w.Key.Environment }, ct);
        }
        await _detection.PublishAsync(detected, ct);

        for (var r = 0; r < group.Count; r++)
        {
            if (spans[r] is not { } span) continue;
            var anomalies = detected.Detected.Count == 0 ? [] : detected.Detected.Where(a => span.FlagIds.Contains(a.FlagId)).ToList();
            results[r] = new RecordMetricsResult.Recorded(new MetricsAccepted(span.Count, anomalies));
        }
        return results;
    }

    /// <summary>
    /// What a group wrote to one flag in one environment: the key detection runs for and the <c>metrics.recorded</c> event's
    /// figures. Built in one pass over the stored samples, in the order each (flag, environment) first appears.
    /// </summary>
    private sealed class Written(FlagInEnvironment key, MetricSample first)
    {
        public FlagInEnvironment Key { get; } = key;
        public int Count { get; private set; } = 1;
        public DateTimeOffset From { get; private set; } = first.Timestamp;
        /// <summary>The newest sample (the first of equally new ones).</summary>
        public MetricSample Latest { get; private set; } = first;

        private void Add(MetricSample m)
        {
            Count++;
            if (m.Timestamp < From) From = m.Timestamp;
            if (m.Timestamp > Latest.Timestamp) Latest = m;
        }

        /// <remarks>A batch is nearly always one flag in one environment: a run of samples like the previous one is added
        /// without hashing the key (hashing two strings per sample, three times over, was a measurable share of a
        /// 1,000-sample ingest, issue 25).</remarks>
        public static List<Written> Of(IReadOnlyList<MetricSample> stored)
        {
            var all = new List<Written>();
            Dictionary<FlagInEnvironment, Written>? byKey = null;
            Written? last = null;
            foreach (var m in stored)
            {
                if (last is not null && string.Equals(last.Key.FlagId, m.FlagId, StringComparison.Ordinal)
                    && string.Equals(last.Key.Environment, m.Environment, StringComparison.Ordinal))
                {
                    last.Add(m);
                    continue;
                }
                var key = new FlagInEnvironment(m.FlagId, m.Environment);
                if (last is null)
                {
                    last = new Written(key, m);
                    all.Add(last);
                    continue;
                }
                if (byKey is null)
                {
                    byKey = new Dictionary<FlagInEnvironment, Written> { [last.Key] = last };
                }
                if (byKey.TryGetValue(key, out var seen)) seen.Add(m);
                else
                {
                    seen = new Written(key, m);
                    byKey[key] = seen;
                    all.Add(seen);
                }
                last = seen;
            }
            return all;
        }
    }

    /// <summary>The environment a sample belongs to: the one it names, else its flag's home.</summary>
    private static string EnvironmentOf(MetricSample m, FlagRef flag) => m.Environment.Length > 0 ? m.Environment : flag.Environment;

    public ValueTask DisposeAsync() => _commit.DisposeAsync();
}
