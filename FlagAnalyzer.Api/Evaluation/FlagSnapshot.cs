using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Evaluation;

/// <summary>The replica's current, immutable view of every flag, compiled. Readers take <see cref="Current"/> once per request.</summary>
public interface IFlagSnapshot
{
    FlagSnapshot Current { get; }
}

/// <summary>
/// All flags by key, compiled. <see cref="Version"/> is a digest of every flag's (id, key, version), so replicas
/// holding the same flags agree on it: it is the bulk ETag's basis.
/// </summary>
public sealed class FlagSnapshot
{
    public static readonly FlagSnapshot Empty = new(FrozenDictionary<string, CompiledFlag>.Empty);

    public FlagSnapshot(FrozenDictionary<string, CompiledFlag> byKey, long revision = 0)
    {
        ByKey = byKey;
        Revision = revision;
        Version = Digest(byKey.Values);
    }

    public FrozenDictionary<string, CompiledFlag> ByKey { get; }
    public string Version { get; }

    /// <summary>
    /// The newest change-feed revision this snapshot reflects: every committed change up to it is in, none after it.
    /// 0 until the feed assigns revisions.
    /// </summary>
    public long Revision { get; }

    public bool TryGet(string key, out CompiledFlag flag) => ByKey.TryGetValue(key, out flag!);

    private static string Digest(IEnumerable<CompiledFlag> flags)
    {
        var text = new StringBuilder();
        foreach (var f in flags.OrderBy(f => f.Key, StringComparer.Ordinal)) text.Append(f.FlagId).Append('|').Append(f.Key).Append('|').Append(f.Version).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 8));
    }
}
