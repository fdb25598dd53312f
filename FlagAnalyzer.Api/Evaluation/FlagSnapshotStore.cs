using System.Collections.Frozen;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// Holds this replica's <see cref="FlagSnapshot"/> and replaces it, whole, whenever flags change: at once for a
/// change committed here (through <see cref="Apply"/>/<see cref="Remove"/>, called after the commit), and by a
/// reload from SQLite when another replica announces a change, when Redis comes back, and periodically as a
/// safety net. Entries only move forward: a reload that read the database before a newer local change cannot
/// put the older flag back, nor resurrect a flag deleted meanwhile.
/// </summary>
public sealed partial class FlagSnapshotStore(Db db, ILogger<FlagSnapshotStore> log) : IFlagSnapshot
{
    private sealed record Entry(Flag Flag, CompiledFlag Compiled, long Seq);

    private readonly Lock _gate = new();
    private Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _deletedAtSeq = new(StringComparer.Ordinal);
    private long _seq;
    private volatile FlagSnapshot _current = FlagSnapshot.Empty;
    private readonly SemaphoreSlim _reloadSignal = new(0, 1);

    public FlagSnapshot Current => _current;

    /// <summary>Raised after every swap (tests and the live bridge wait on it instead of sleeping).</summary>
    public event Action<FlagSnapshot>? Swapped;

    /// <summary>A committed create or update on this replica (or a flag read fresh from SQLite).</summary>
    public void Apply(Flag flag)
    {
        lock (_gate)
        {
            // ids are never reused: a flag deleted here stays deleted, even if a slow read hands it back
            if (_deletedAtSeq.ContainsKey(flag.Id)) return;
            if (_byId.TryGetValue(flag.Id, out var held) && held.Flag.Version >= flag.Version) return;
            var seq = ++_seq;
            if (Compile(flag, held) is { } compiled) _byId[flag.Id] = new Entry(flag, compiled, seq);
            else _byId.Remove(flag.Id);
            PublishLocked();
        }
    }

    /// <summary>A committed delete on this replica.</summary>
    public void Remove(Flag flag)
    {
        lock (_gate)
        {
            var seq = ++_seq;
            _deletedAtSeq[flag.Id] = seq;
            _byId.Remove(flag.Id);
            PublishLocked();
        }
    }

    /// <summary>Whether the snapshot already holds this flag at this version or later (an echo of our own write).</summary>
    public bool Holds(string flagId, long version)
    {
        lock (_gate) return _byId.TryGetValue(flagId, out var e) && e.Flag.Version >= version;
    }

    /// <summary>Whether the snapshot has the flag at any version (false once it is deleted).</summary>
    public bool Contains(string flagId)
    {
        lock (_gate) return _byId.ContainsKey(flagId);
    }

    /// <summary>Asks the background loop to reload from SQLite; repeated requests coalesce.</summary>
    public void RequestReload()
    {
        try { _reloadSignal.Release(); }
        catch (SemaphoreFullException) { } // a reload is already pending
    }

    internal async Task<bool> WaitForReloadRequestAsync(TimeSpan timeout, CancellationToken ct) => await _reloadSignal.WaitAsync(timeout, ct);

    /// <summary>Reads every flag from SQLite and swaps in the result, merged with anything applied meanwhile.</summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        long startSeq;
        lock (_gate) startSeq = _seq;
        List<Flag> flags;
        await using (var conn = await db.OpenAsync(ct))
            flags = await FlagStore.ListAllAsync(conn, ct);

        lock (_gate)
        {
            var next = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var f in flags)
            {
                if (_deletedAtSeq.ContainsKey(f.Id)) continue;
                _byId.TryGetValue(f.Id, out var held);
                if (held is not null && held.Flag.Version >= f.Version) { next[f.Id] = held; continue; }
                if (Compile(f, held) is { } compiled) next[f.Id] = new Entry(f, compiled, startSeq);
            }
            // created or changed here after the read started: the read could not see it
            foreach (var (id, e) in _byId)
                if (e.Seq > startSeq && (!next.TryGetValue(id, out var n) || n.Flag.Version < e.Flag.Version)) next[id] = e;
            _byId = next;
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

    private void PublishLocked()
    {
        var byKey = new Dictionary<string, CompiledFlag>(StringComparer.Ordinal);
        foreach (var e in _byId.Values.OrderBy(e => e.Flag.Id, StringComparer.Ordinal)) byKey.TryAdd(e.Compiled.Key, e.Compiled);
        var snapshot = new FlagSnapshot(byKey.ToFrozenDictionary(StringComparer.Ordinal));
        _current = snapshot;
        Swapped?.Invoke(snapshot);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flag {Flag} cannot be evaluated and is left out of the snapshot: {Errors}")]
    private partial void LogUnservable(string flag, string errors);
}
