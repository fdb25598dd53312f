using System.Runtime.InteropServices;
using HdrHistogram;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>A request observation whose flag is known: which flag (id), which cohort the variant belongs to.</summary>
/// <param name="Environment">The environment it counts in (<see cref="ObservationResolver.EnvironmentOf"/>).</param>
public readonly record struct ResolvedObservation(string FlagId, Cohort Cohort, FlagObservation Observation, string Environment = "");

/// <summary>One flag × variant × interval, ready to be stored as a metric sample.</summary>
public sealed record ImpactSample(string FlagId, Cohort Cohort, string Variant, DateTimeOffset IntervalStart, DateTimeOffset Timestamp,
    long RequestCount, long Errors, double LatencyP50, double LatencyP99)
{
    /// <summary>The environment the requests ran in; empty: the flag's home.</summary>
    public string Environment { get; init; } = "";

    /// <summary>Percent, 0–100.</summary>
    public double ErrorRate => RequestCount == 0 ? 0 : 100.0 * Errors / RequestCount;
}

/// <summary>
/// Requests per flag, variant and interval, in memory: a count, an error count and an HdrHistogram of latencies
/// (microseconds, 2 significant digits, up to an hour) per bucket. The number of buckets is capped, in all and per
/// flag (<paramref name="maxBucketsPerFlag"/>: one flag's flood — spans spread over many intervals — cannot take the
/// share of every other flag): an export that would open more is refused whole, so the caller can shed it (nothing
/// of it is counted). Thread-safe.
/// </summary>
public sealed class ImpactAggregator(TimeSpan interval, int maxBuckets, int? maxBucketsPerFlag = null)
{
    public const long MaxLatencyMicros = 3_600_000_000;
    private const int SignificantDigits = 2;

    private readonly object _gate = new();
    private readonly Dictionary<BucketKey, Bucket> _buckets = new();
    private readonly Dictionary<string, int> _bucketsPerFlag = new(StringComparer.Ordinal);

    public TimeSpan Interval { get; } = interval > TimeSpan.Zero ? interval : throw new ArgumentOutOfRangeException(nameof(interval));
    public int MaxBuckets { get; } = maxBuckets > 0 ? maxBuckets : throw new ArgumentOutOfRangeException(nameof(maxBuckets));
    public int MaxBucketsPerFlag { get; } = maxBucketsPerFlag is { } perFlag
        ? perFlag > 0 ? Math.Min(perFlag, maxBuckets) : throw new ArgumentOutOfRangeException(nameof(maxBucketsPerFlag))
        : maxBuckets;

    public int BucketCount
    {
        get { lock (_gate) return _buckets.Count; }
    }

    public DateTimeOffset IntervalStart(DateTimeOffset at) => IntervalStartOf(at, Interval);

    /// <summary>The start of the <paramref name="interval"/>-long aggregation interval holding <paramref name="at"/> (intervals are aligned to the Unix epoch).</summary>
    public static DateTimeOffset IntervalStartOf(DateTimeOffset at, TimeSpan interval) =>
        new(at.UtcTicks - (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) % interval.Ticks, TimeSpan.Zero);

    /// <summary>Counts all the observations, or none of them when they would open more buckets than the caps allow.</summary>
    public bool TryAdd(IReadOnlyList<ResolvedObservation> observations) => TryAdd(observations, out _);

    /// <summary><see cref="TryAdd(IReadOnlyList{ResolvedObservation})"/>; <paramref name="overShare"/> names the flag that would pass its own cap.</summary>
    public bool TryAdd(IReadOnlyList<ResolvedObservation> observations, out string? overShare)
    {
        overShare = null;
        if (observations.Count == 0) return true;
        // keys outside the lock; an export's requests mostly share a few keys, so consecutive repeats skip the lookup
        var keys = new BucketKey[observations.Count];
        for (var i = 0; i < keys.Length; i++) keys[i] = KeyOf(observations[i]);
        lock (_gate)
        {
            HashSet<BucketKey>? opening = null;
            for (var i = 0; i < keys.Length; i++)
            {
                if (i > 0 && keys[i] == keys[i - 1]) continue;
                if (!_buckets.ContainsKey(keys[i])) (opening ??= []).Add(keys[i]);
            }
            if (opening is not null && _buckets.Count + opening.Count > MaxBuckets) return false;
            if (opening is not null && MaxBucketsPerFlag < MaxBuckets)
                foreach (var group in opening.GroupBy(k => k.FlagId, StringComparer.Ordinal))
                    if (_bucketsPerFlag.GetValueOrDefault(group.Key) + group.Count() > MaxBucketsPerFlag)
                    {
                        overShare = group.Key;
                        return false;
                    }

            Bucket? bucket = null;
            for (var i = 0; i < keys.Length; i++)
            {
                if (bucket is null || keys[i] != bucket.Key)
                    if (!_buckets.TryGetValue(keys[i], out bucket)) Open(bucket = new Bucket(keys[i], observations[i].Cohort));
                bucket.Record(observations[i].Observation);
            }
            return true;
        }
    }

    /// <summary>
    /// Removes and returns the buckets whose interval ended at or before <paramref name="closedBy"/> (all of them when
    /// null). A caller whose write fails gives them back with <see cref="Return"/>.
    /// </summary>
    public IReadOnlyList<ImpactBucket> Take(DateTimeOffset? closedBy)
    {
        lock (_gate)
        {
            var taken = new List<ImpactBucket>();
            foreach (var (key, bucket) in _buckets)
                if (closedBy is null || key.IntervalStartTicks + Interval.Ticks <= closedBy.Value.UtcTicks) taken.Add(bucket);
            foreach (var b in taken)
            {
                var key = ((Bucket)b).Key;
                _buckets.Remove(key);
                if (--CollectionsMarshal.GetValueRefOrNullRef(_bucketsPerFlag, key.FlagId) == 0) _bucketsPerFlag.Remove(key.FlagId);
            }
            return taken;
        }
    }

    /// <summary>Merges buckets back (after a failed write), over the cap if need be: accepted requests are never dropped.</summary>
    public void Return(IReadOnlyList<ImpactBucket> buckets)
    {
        lock (_gate)
        {
            foreach (var b in buckets.Cast<Bucket>())
            {
                if (_buckets.TryGetValue(b.Key, out var existing)) existing.Merge(b);
                else Open(b);
            }
        }
    }

    /// <summary>Adds a bucket and counts it against its flag's share (under the lock).</summary>
    private void Open(Bucket b)
    {
        _buckets[b.Key] = b;
        CollectionsMarshal.GetValueRefOrAddDefault(_bucketsPerFlag, b.Key.FlagId, out _)++;
    }

    private BucketKey KeyOf(in ResolvedObservation o) =>
        new(o.FlagId, o.Environment, o.Observation.Variant, IntervalStart(o.Observation.At).UtcTicks);

    private readonly record struct BucketKey(string FlagId, string Environment, string Variant, long IntervalStartTicks);

    private sealed class Bucket(BucketKey key, Cohort cohort) : ImpactBucket
    {
        private readonly IntHistogram _latency = new(1, MaxLatencyMicros, SignificantDigits);
        private long _count, _errors, _latestTicks;

        public BucketKey Key { get; } = key;

        public void Record(in FlagObservation o)
        {
            _count++;
            if (o.IsError) _errors++;
            _latency.RecordValue(Math.Clamp(o.LatencyMicros, 0, MaxLatencyMicros));
            _latestTicks = Math.Max(_latestTicks, o.At.UtcTicks);
        }

        public void Merge(Bucket other)
        {
            _count += other._count;
            _errors += other._errors;
            _latency.Add(other._latency);
            _latestTicks = Math.Max(_latestTicks, other._latestTicks);
        }

        /// <summary>Stamped with its newest request, so a bucket that straddles a flag change counts after it.</summary>
        public override ImpactSample ToSample() => new(Key.FlagId, cohort, Key.Variant,
            new DateTimeOffset(Key.IntervalStartTicks, TimeSpan.Zero), new DateTimeOffset(_latestTicks, TimeSpan.Zero),
            _count, _errors, _latency.GetValueAtPercentile(50) / 1000.0, _latency.GetValueAtPercentile(99) / 1000.0) { Environment = Key.Environment };
    }
}

/// <summary>A bucket taken out of the aggregator for writing.</summary>
public abstract class ImpactBucket
{
    public abstract ImpactSample ToSample();
}
