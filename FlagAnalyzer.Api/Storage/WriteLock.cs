using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// What a PostgreSQL write transaction locks (<see cref="Db.BeginWriteAsync(WriteLock, CancellationToken)"/>): nothing
/// (pure appends and single-statement upserts, which the rows' own locks order), one flag, several flags, samples appended
/// to flags (<see cref="Ingest"/>: the flags' keys shared), a named
/// resource (a table-wide read-check-write such as "the last admin key"), or everything. A flag's lock covers
/// everything that hangs off the flag: its row and change log, its detection window, its anomalies,
/// rollout plan and schedules, and it waits for every ingest of the flag's samples (<see cref="Ingest"/>). Each lock is one or more 64-bit advisory keys, taken in ascending order.
/// </summary>
public sealed class WriteLock
{
    private readonly string[] _flagIds;
    private readonly string _label;

    private WriteLock(IReadOnlyList<long> keys, string[] flagIds, string label, bool isAll = false, bool isShared = false)
    {
        Keys = keys;
        _flagIds = flagIds;
        _label = label;
        IsAll = isAll;
        IsShared = isShared;
    }

    /// <summary>No lock: a transaction whose writes cannot contradict a concurrent one's.</summary>
    public static WriteLock None { get; } = new([], [], "no lock");

    /// <summary>Every locked writer waits for it, and it for them: the one global lock every write used to take.</summary>
    public static WriteLock All { get; } = new([], [], "the whole store", isAll: true);

    public static WriteLock Flag(string flagId) => Flags([flagId]);

    /// <summary>Several flags' locks, taken in one order (by key) so two such transactions cannot deadlock.</summary>
    public static WriteLock Flags(IEnumerable<string> flagIds)
    {
        var ids = flagIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0) return None;
        var keys = ids.Select(id => KeyOf("flag", id)).Distinct().Order().ToArray();
        return new WriteLock(keys, ids, ids.Length == 1 ? $"flag {ids[0]}" : $"{ids.Length} flags");
    }

    /// <summary>
    /// Appending samples to these flags: their keys taken shared, so ingests into one flag copy their rows at once while
    /// every holder of a flag's lock (exclusive) waits for all of them and holds them all off — a flag is never deleted
    /// under an ingest, and a reader walking a flag's sample ids under its lock meets no batch still in flight. Covers no
    /// flag: the ingest then takes <see cref="Flags"/> of the flags it wrote (<see cref="WriteScope.LockAsync"/>), which on
    /// top of the shared keys takes each flag's detection key, so detections of one flag (window, anomalies, rollback)
    /// take turns.
    /// </summary>
    public static WriteLock Ingest(IEnumerable<string> flagIds)
    {
        var flags = Flags(flagIds);
        return flags.IsNone ? None : new WriteLock(flags.Keys, flags._flagIds, $"ingest into {flags._label}", isShared: true);
    }

    /// <summary>
    /// The keys that keep two ingests' detections of a flag apart (<see cref="Ingest"/>), ascending: only ingests take
    /// them, each after its shared flag keys, so no other transaction waits for them.
    /// </summary>
    public IReadOnlyList<long> DetectionKeys() => _flagIds.Select(id => KeyOf("detect", id)).Distinct().Order().ToArray();

    /// <summary>Whether a transaction holding this (shared) lock may go on to take <paramref name="next"/>: the flags it ingests into, or some of them.</summary>
    public bool Admits(WriteLock next) =>
        IsShared && !next.IsShared && !next.IsAll && next._flagIds.All(id => Array.BinarySearch(_flagIds, id, StringComparer.Ordinal) >= 0);

    /// <summary>A resource that is not a flag, e.g. <c>api-keys</c> for a read-check-write over all keys.</summary>
    public static WriteLock Named(string name) => new([KeyOf("named", name)], [], $"'{name}'");

    /// <summary>The advisory keys, ascending (empty for <see cref="None"/> and <see cref="All"/>).</summary>
    public IReadOnlyList<long> Keys { get; }

    public bool IsNone => !IsAll && Keys.Count == 0;
    public bool IsAll { get; }
    /// <summary>Taken in shared mode (<see cref="Ingest"/>).</summary>
    public bool IsShared { get; }

    /// <summary>Whether a transaction holding this lock may write <paramref name="flagId"/>'s rows (an ingest's shared lock: only its samples).</summary>
    public bool Covers(string flagId) => IsAll || (!IsShared && Array.BinarySearch(_flagIds, flagId, StringComparer.Ordinal) >= 0);

    public override string ToString() => _label;

    /// <summary>
    /// A stable 64-bit key: the first eight bytes of SHA-256 over "kind:name". Stable across processes and builds (every
    /// replica must compute the same key), and far from the few constants other advisory locks use; two names sharing a
    /// key would only make their writers wait for each other.
    /// </summary>
    private static long KeyOf(string kind, string name)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{kind}:{name}"), hash);
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }
}
