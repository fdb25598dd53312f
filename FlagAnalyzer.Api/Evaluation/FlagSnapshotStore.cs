using System.Collections.Frozen;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// Holds this replica's <see cref="FlagSnapshot"/> — the one flag cache (<see cref="IFlagCache"/>): OFREP evaluates from
/// it, REST and telemetry read flags from it — and replaces it, whole, whenever flags change: at once for a change
/// committed here (<see cref="Apply"/>, before the writer answers), and in revision order from the change feed
/// (<see cref="FollowAsync"/>) for every change, wherever it was committed. A full load (<see cref="ReloadAsync"/>) reads
/// every flag and the revision they reflect in one read transaction. Entries only move forward: a flag's older version
/// never replaces a newer one, and a deleted flag never comes back.
/// </summary>
public sealed partial class FlagSnapshotStore(Db db, ILogger<FlagSnapshotStore> log) : IFlagSnapshot, IFlagCache
{
    /// <summary>
    /// A flag and, when it can be served, its compiled form as its home serves it, and as each environment of its
    /// configurations serves it (REST still reads a flag OFREP cannot evaluate).
    /// </summary>
    private sealed record Entry(Flag Flag, CompiledFlag? Compiled, long Revision, IReadOnlyList<FlagConfiguration> Configurations,
        IReadOnlyDictionary<string, CompiledFlag?> ByEnvironment);

    /// <summary>The flags of one snapshot, by id, name and key, for REST and telemetry reads.</summary>
    private sealed record FlagTable(FrozenDictionary<string, Flag> ById, FrozenDictionary<string, Flag> ByName, FrozenDictionary<string, Flag> ByKey)
    {
        public static readonly FlagTable Empty = new(FrozenDictionary<string, Flag>.Empty, FrozenDictionary<string, Flag>.Empty, FrozenDictionary<string, Flag>.Empty);
    }

    private const int FollowBatch = 500;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    // ids are never reused: a deleted id stays deleted
    private readonly HashSet<string> _deleted = new(StringComparer.Ordinal);
    private long _revision;
    private volatile FlagSnapshot _current = FlagSnapshot.Empty;
    private volatile FlagTable _table = FlagTable.Empty;
    private readonly SemaphoreSlim _wake = new(0, 1);

    public FlagSnapshot Current => _current;

    public long Revision => _current.Revision;

    /// <summary>Raised after every swap (tests and the live bridge wait on it instead of sleeping).</summary>
    public event Action<FlagSnapshot>? Swapped;

    public Flag? Find(string idOrName)
    {
        var t = _table;
        return t.ById.TryGetValue(idOrName, out var f) || t.ByName.TryGetValue(idOrName, out f) ? f : null;
    }

    public Flag? FindByKey(string key) => _table.ByKey.TryGetValue(key, out var f) ? f : null;

    /// <summary>A committed change: this replica's own (before it answers), or one read from the feed.</summary>
    public void Apply(FeedEntry entry)
    {
        lock (_gate)
        {
            var changed = ApplyLocked(entry);
            // the next revision after everything this snapshot holds (the usual case for a replica's own writes) moves the
            // revision on at once, in the same swap: a snapshot never shows a change under an older revision than its own
            if (entry.Revision > 0 && entry.Revision == _revision + 1)
            {
                _revision = entry.Revision;
                changed = true;
            }
            if (changed) PublishLocked();
        }
        // otherwise the follower moves the revision on once every earlier one is in too
        Wake();
    }

    /// <summary>A flag as committed, outside any feed entry (tests, tools): same rules as <see cref="Apply(FeedEntry)"/>.</summary>
    public void Apply(Flag flag) => Apply(new FeedEntry(0, null!, flag, false));

    /// <summary>A committed delete, outside any feed entry: the id never comes back.</summary>
    public void Remove(Flag flag) => Apply(new FeedEntry(0, null!, flag, true));

    private bool ApplyLocked(FeedEntry entry)
    {
        var flag = entry.Flag;
        if (entry.Deleted)
        {
            var had = _byId.Remove(flag.Id);
            return _deleted.Add(flag.Id) | had;
        }
        if (_deleted.Contains(flag.Id)) return false;
        _byId.TryGetValue(flag.Id, out var held);
        if (held is not null && !IsNewer(entry, held)) return false;
        var configurations = ConfigurationsOf(entry, held);
        var compiled = Compile(flag, held);
        var byEnvironment = new Dictionary<string, CompiledFlag?>(StringComparer.Ordinal);
        foreach (var c in configurations)
            byEnvironment[c.Environment] = c.Environment == flag.TargetEnvironment ? compiled : Compile(flag, c, held);
        _byId[flag.Id] = new Entry(flag, compiled, entry.Revision, configurations, byEnvironment);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="entry"/> is a later state of its flag than <paramref name="held"/>. A change of another
    /// environment's configuration leaves the flag's version alone (issue 26), so entries of the feed are ordered by revision;
    /// a flag applied outside the feed (revision 0) by its version.
    /// </summary>
    private static bool IsNewer(FeedEntry entry, Entry held) =>
        entry.Revision > 0 && held.Revision > 0 ? entry.Revision > held.Revision : entry.Flag.Version > held.Flag.Version;

    /// <summary>
    /// The entry's configurations; one without them (written before issue 26, or a flag applied outside the feed) keeps
    /// what was held for the other environments and takes its home configuration from the flag itself.
    /// </summary>
    private static IReadOnlyList<FlagConfiguration> ConfigurationsOf(FeedEntry entry, Entry? held)
    {
        if (entry.Configurations is { } given) return given;
        var home = FlagConfigurations.HomeOf(entry.Flag, entry.Flag.Version);
        return [home, .. (held?.Configurations ?? []).Where(c => c.Environment != home.Environment)];
    }

    /// <summary>Whether the snapshot holds this flag at this version or later.</summary>
    public bool Holds(string flagId, long version)
    {
        lock (_gate) return _byId.TryGetValue(flagId, out var e) && e.Flag.Version >= version;
    }

    /// <summary>Whether the snapshot has the flag at any version (false once it is deleted).</summary>
    public bool Contains(string flagId)
    {
        lock (_gate) return _byId.ContainsKey(flagId);
    }

    /// <summary>Wakes the follower: a new revision was announced (Redis, PostgreSQL) or committed here. Repeated wakes coalesce.</summary>
    public void Wake()
    {
        try { _wake.Release(); }
        catch (SemaphoreFullException) { } // already awake
    }

    /// <summary>Kept for callers that asked for a reload: following the feed by revision now covers what a reload did.</summary>
    public void RequestReload() => Wake();

    internal async Task<bool> WaitForWakeAsync(TimeSpan timeout, CancellationToken ct) => await _wake.WaitAsync(timeout, ct);

    /// <summary>
    /// Applies every committed change after this snapshot's revision, in revision order, and moves the revision on. Revisions
    /// become visible in order, so reading <c>revision &gt; applied</c> never skips one; a gap at the start means the rows
    /// were pruned while this replica was behind, and a full load takes their place.
    /// </summary>
    public async Task FollowAsync(CancellationToken ct)
    {
        while (true)
        {
            var from = Revision;
            List<FeedEntry> entries;
            await using (var conn = await db.OpenAsync(ct))
                entries = await ChangeFeed.ReadAfterAsync(conn, from, FollowBatch, ct);
            if (entries.Count == 0) return;
            if (entries[0].Revision != from + 1)
            {
                LogGap(from, entries[0].Revision);
                await ReloadAsync(ct);
                return;
            }
            lock (_gate)
            {
                foreach (var e in entries) ApplyLocked(e);
                _revision = Math.Max(_revision, entries[^1].Revision);
                PublishLocked();
            }
            if (entries.Count < FollowBatch) return;
        }
    }

    /// <summary>
    /// Reads every flag and the revision they reflect in one read transaction (so the revision is exactly what the flags
    /// show), and swaps in the result, keeping anything newer applied meanwhile.
    /// </summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        List<Flag> flags;
        Dictionary<string, List<FlagConfiguration>> configurations;
        long revision;
        await using (var conn = await db.OpenAsync(ct))
        // one snapshot for both reads: PostgreSQL's REPEATABLE READ; on SQLite a deferred transaction, whose first read
        // fixes what the second sees (WAL), without taking the write lock
        await using (var tx = conn is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: true)
            : await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct))
        {
            revision = await ChangeFeed.CurrentRevisionAsync(conn, tx, ct);
            flags = await FlagStore.ListAllAsync(conn, tx, ct);
            configurations = await FlagConfigurationStore.ListAllAsync(conn, tx, ct);
            await tx.CommitAsync(ct);
        }

        lock (_gate)
        {
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in flags)
            {
                present.Add(f.Id);
                ApplyLocked(new FeedEntry(revision, null!, f, false) { Configurations = configurations.GetValueOrDefault(f.Id) });
            }
            // gone from the database as of `revision`, unless applied here from a later revision (a create the read could not see)
            foreach (var (id, _) in _byId.Where(p => !present.Contains(p.Key) && p.Value.Revision <= revision).ToList())
            {
                _byId.Remove(id);
                _deleted.Add(id);
            }
            _revision = Math.Max(_revision, revision);
            PublishLocked();
        }
    }

    private CompiledFlag? Compile(Flag flag, Entry? held)
    {
        if (held is not null && held.Flag.Version == flag.Version) return held.Compiled;
        if (FlagCompiler.TryCompile(FlagDefinitions.From(flag), out var compiled, out var errors)) return compiled;
        LogUnservable(flag.Name, string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")));
        return null;
    }

    /// <summary>The flag as another environment than its home serves it; the held one when neither the definition nor that configuration moved.</summary>
    private CompiledFlag? Compile(Flag flag, FlagConfiguration c, Entry? held)
    {
        if (held is not null && held.Flag.Version == flag.Version && held.Flag.TargetEnvironment == flag.TargetEnvironment
            && held.ByEnvironment.TryGetValue(c.Environment, out var same) && held.Configurations.Any(h => h.Environment == c.Environment && h.Version == c.Version))
            return same;
        if (FlagCompiler.TryCompile(FlagDefinitions.From(flag, c), out var compiled, out var errors)) return compiled;
        LogUnservable($"{flag.Name} ({c.Environment})", string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")));
        return null;
    }

    private void PublishLocked()
    {
        var byKey = new Dictionary<string, CompiledFlag>(StringComparer.Ordinal);
        var byName = new Dictionary<string, Flag>(StringComparer.Ordinal);
        var byFlagKey = new Dictionary<string, Flag>(StringComparer.Ordinal);
        var environments = new HashSet<string>(StringComparer.Ordinal);
        var ordered = _byId.Values.OrderBy(e => e.Flag.Id, StringComparer.Ordinal).ToList();
        foreach (var e in ordered)
        {
            if (e.Compiled is { } c) byKey.TryAdd(c.Key, c);
            byName.TryAdd(e.Flag.Name, e.Flag);
            byFlagKey.TryAdd(e.Flag.Key, e.Flag);
            environments.UnionWith(e.ByEnvironment.Keys);
        }
        // every environment serves every flag (issue 26): one without a configuration of it here serves it disabled
        var byEnvironment = new Dictionary<string, FrozenDictionary<string, CompiledFlag>>(StringComparer.Ordinal);
        foreach (var environment in environments)
        {
            var flags = new Dictionary<string, CompiledFlag>(StringComparer.Ordinal);
            foreach (var e in ordered)
            {
                if (e.Compiled is not { } home) continue;
                if (e.ByEnvironment.TryGetValue(environment, out var there)) { if (there is not null) flags.TryAdd(there.Key, there); }
                else flags.TryAdd(home.Key, home.DisabledIn(environment));
            }
            byEnvironment[environment] = flags.ToFrozenDictionary(StringComparer.Ordinal);
        }
        _table = new FlagTable(_byId.ToFrozenDictionary(p => p.Key, p => p.Value.Flag, StringComparer.Ordinal),
            byName.ToFrozenDictionary(StringComparer.Ordinal), byFlagKey.ToFrozenDictionary(StringComparer.Ordinal));
        var snapshot = new FlagSnapshot(byKey.ToFrozenDictionary(StringComparer.Ordinal), _revision, byEnvironment.ToFrozenDictionary(StringComparer.Ordinal));
        _current = snapshot;
        Swapped?.Invoke(snapshot);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flag {Flag} cannot be evaluated and is left out of the snapshot: {Errors}")]
    private partial void LogUnservable(string flag, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The change feed after revision {Applied} starts at {First}: the rows between were pruned while this replica was behind; reloading every flag")]
    private partial void LogGap(long applied, long first);
}
