using System.Collections.Concurrent;
using System.Data.Common;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Rollouts;

/// <summary>
/// Each active plan's evidence (its flag's samples in the plan's environment since the plan started, oldest first, at most
/// <see cref="RolloutService.MaxSamples"/>) kept in memory and brought up to date incrementally: a guardian pass reads only
/// the rows added since the last one (<see cref="MetricStore.AfterIdAsync"/>), not the plan's whole history again. The first
/// read of a plan on this replica is a full one; samples written by other replicas arrive through the same id walk.
/// Read only inside transactions that insert no samples (the guardian's and the API's own), so a sample cached is committed.
/// Kept only from reads inside a transaction (which holds the plan's flag lock): on PostgreSQL ingests into one flag copy at
/// once (<c>WriteLock.Ingest</c>), so a read without the lock may see a later batch's ids before an earlier batch commits,
/// and moving the walk past them would skip that batch for good; such a read answers, the cache stays as it was.
/// </summary>
public sealed class RolloutEvidenceCache
{
    /// <summary>An immutable snapshot: readers that race each publish a correct one, and the last one stays.</summary>
    private sealed record Entry(DateTimeOffset Started, IReadOnlyList<MetricSample> Samples, long LastId);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _fullReads;

    /// <summary>Full reads since the process started (a number for tests).</summary>
    public int FullReads => _fullReads;

    public async Task<IReadOnlyList<MetricSample>> SamplesAsync(DbConnection conn, DbTransaction? tx, RolloutPlan plan, CancellationToken ct)
    {
        if (plan.StartedAt is not { } started) return [];
        if (!plan.IsActive)
        {
            // a finished plan is shown, not guarded: no reason to keep its samples in memory
            _entries.TryRemove(plan.Id, out _);
            return await FullReadAsync(conn, tx, plan, started, ct);
        }
        if (!_entries.TryGetValue(plan.Id, out var entry) || entry.Started != started)
        {
            var all = await FullReadAsync(conn, tx, plan, started, ct);
            entry = new Entry(started, all, all.Count == 0 ? 0 : all.Max(m => m.Id));
        }
        else
        {
            var fresh = await MetricStore.AfterIdAsync(conn, tx, plan.FlagId, plan.Environment, entry.LastId, started, ct);
            if (fresh.Count > 0)
            {
                // merged in (timestamp, id) order and cut at the cap, as the full read orders and cuts
                var merged = entry.Samples.Concat(fresh).OrderBy(m => m.Timestamp).ThenBy(m => m.Id).Take(RolloutService.MaxSamples).ToList();
                entry = new Entry(started, merged, Math.Max(entry.LastId, fresh[^1].Id));
            }
        }
        if (tx is not null) _entries[plan.Id] = entry;
        return entry.Samples;
    }

    private async Task<List<MetricSample>> FullReadAsync(DbConnection conn, DbTransaction? tx, RolloutPlan plan, DateTimeOffset started, CancellationToken ct)
    {
        Interlocked.Increment(ref _fullReads);
        return await MetricStore.ListAsync(conn, tx, plan.FlagId, plan.Environment, started, null, null, null, RolloutService.MaxSamples, ct);
    }
}
