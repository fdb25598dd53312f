using System.Security.Cryptography;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Server-generated ids: a short type prefix, then a ULID-like body (48-bit millisecond time + 80 random
/// bits in Crockford base32), so ids sort by creation time and serve as keyset cursors.
/// </summary>
public static class Ids
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private const int BodyLength = 26;

    /// <summary>
    /// Whether <paramref name="text"/> has the shape of an id of any type: lowercase letters, '_', then 26 characters
    /// of the alphabet. Names and keys of that shape are refused, so a name can never pass for another resource's id.
    /// </summary>
    public static bool LooksLikeId(string? text)
    {
        if (text is null) return false;
        var underscore = text.IndexOf('_');
        if (underscore < 1 || text.Length - underscore - 1 != BodyLength) return false;
        foreach (var c in text.AsSpan(0, underscore)) if (c is < 'a' or > 'z') return false;
        foreach (var c in text.AsSpan(underscore + 1)) if (!Alphabet.Contains(char.ToLowerInvariant(c))) return false;
        return true;
    }

    public static string New(string prefix, TimeProvider? clock = null)
    {
        var ms = (ulong)(clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        Span<char> body = stackalloc char[BodyLength];
        for (var i = 9; i >= 0; i--)
        {
            body[i] = Alphabet[(int)(ms & 31)];
            ms >>= 5;
        }
        // 80 random bits -> 16 base32 characters
        UInt128 bits = 0;
        foreach (var b in random) bits = (bits << 8) | b;
        for (var i = 25; i >= 10; i--)
        {
            body[i] = Alphabet[(int)(bits & 31)];
            bits >>= 5;
        }
        return $"{prefix}_{new string(body)}";
    }
}
