using System.Collections.Concurrent;
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
/// All flags by key, compiled: <see cref="ByKey"/> as each flag's home environment serves it (the seed shape, what an
/// unscoped caller evaluates), and per environment as that environment serves it (<see cref="ForEnvironment"/>, issue 26:
/// the same key in every environment, each with its own configuration). <see cref="Version"/> is a digest of every flag's
/// (id, key, version), so replicas holding the same flags agree on it: it is the bulk ETag's basis.
/// </summary>
public sealed class FlagSnapshot
{
    public static readonly FlagSnapshot Empty = new(FrozenDictionary<string, CompiledFlag>.Empty);

    private readonly FrozenDictionary<string, FrozenDictionary<string, CompiledFlag>> _byEnvironment;
    // what an environment no configuration names yet serves (one created since the last change): every flag disabled;
    // built on first use, once per snapshot
    private readonly ConcurrentDictionary<string, FrozenDictionary<string, CompiledFlag>> _unconfigured = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _versions = new(StringComparer.Ordinal);

    public FlagSnapshot(FrozenDictionary<string, CompiledFlag> byKey, long revision = 0,
        FrozenDictionary<string, FrozenDictionary<string, CompiledFlag>>? byEnvironment = null)
    {
        ByKey = byKey;
        Revision = revision;
        _byEnvironment = byEnvironment ?? FrozenDictionary<string, FrozenDictionary<string, CompiledFlag>>.Empty;
        Version = Digest(byKey.Values);
    }

    /// <summary>Every flag as its home environment serves it.</summary>
    public FrozenDictionary<string, CompiledFlag> ByKey { get; }
    public string Version { get; }

    /// <summary>
    /// The newest change-feed revision this snapshot reflects: every committed change up to it is in, none after it.
    /// 0 until the feed assigns revisions.
    /// </summary>
    public long Revision { get; }

    /// <summary>The environments some configuration in this snapshot names.</summary>
    public IEnumerable<string> Environments => _byEnvironment.Keys;

    public bool TryGet(string key, out CompiledFlag flag) => ByKey.TryGetValue(key, out flag!);

    /// <summary>The flag of <paramref name="key"/> as <paramref name="environment"/> serves it (null: its home).</summary>
    public bool TryGet(string key, string? environment, out CompiledFlag flag) => ForEnvironment(environment).TryGetValue(key, out flag!);

    /// <summary>Every flag as <paramref name="environment"/> serves it; null means each flag's home (<see cref="ByKey"/>).</summary>
    public FrozenDictionary<string, CompiledFlag> ForEnvironment(string? environment) =>
        environment is null ? ByKey
        : _byEnvironment.TryGetValue(environment, out var flags) ? flags
        : _unconfigured.GetOrAdd(environment, e => ByKey.Values.ToFrozenDictionary(f => f.Key, f => f.DisabledIn(e), StringComparer.Ordinal));

    /// <summary>
    /// What an environment's answers depend on: <see cref="Version"/> for the homes (null); for one environment, the keys
    /// and versions (configuration, and the variants of the definition) of its flags only, so another environment's changes neither move it
    /// nor tell a caller of this one that they happened.
    /// </summary>
    public string VersionOf(string? environment) => environment is null ? Version : _versions.GetOrAdd(environment, e =>
    {
        var text = new StringBuilder();
        foreach (var flag in ForEnvironment(e).Values.OrderBy(f => f.Key, StringComparer.Ordinal))
            text.Append(flag.Key).Append('\n').Append(flag.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Append('.').Append(flag.VariantsDigest).Append('\n');
        return $"{e}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 8))}";
    });

    private static string Digest(IEnumerable<CompiledFlag> flags)
    {
        var text = new StringBuilder();
        foreach (var f in flags.OrderBy(f => f.Key, StringComparer.Ordinal)) text.Append(f.FlagId).Append('|').Append(f.Key).Append('|').Append(f.Version).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 8));
    }
}
