using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// What a PostgreSQL write transaction locks (<see cref="Db.BeginWriteAsync(WriteLock, CancellationToken)"/>): nothing
/// (pure appends and single-statement upserts, which the rows' own locks order), one flag, several flags, a named
/// resource (a table-wide read-check-write such as "the last admin key"), or everything. A flag's lock covers
/// everything that hangs off the flag: its row and change log, its samples' ids and detection window, its anomalies,
/// rollout plan and schedules. Each lock is one or more 64-bit advisory keys, taken in ascending order.
/// </summary>
public sealed class WriteLock
{
    private readonly string[] _flagIds;
    private readonly string _label;

    private WriteLock(IReadOnlyList<long> keys, string[] flagIds, string label, bool isAll = false)
    {
        Keys = keys;
        _flagIds = flagIds;
        _label = label;
        IsAll = isAll;
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

    /// <summary>A resource that is not a flag, e.g. <c>api-keys</c> for a read-check-write over all keys.</summary>
    public static WriteLock Named(string name) => new([KeyOf("named", name)], [], $"'{name}'");

    /// <summary>The advisory keys, ascending (empty for <see cref="None"/> and <see cref="All"/>).</summary>
    public IReadOnlyList<long> Keys { get; }

    public bool IsNone => !IsAll && Keys.Count == 0;
    public bool IsAll { get; }

    /// <summary>Whether a transaction holding this lock may write <paramref name="flagId"/>'s rows.</summary>
    public bool Covers(string flagId) => IsAll || Array.BinarySearch(_flagIds, flagId, StringComparer.Ordinal) >= 0;

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
