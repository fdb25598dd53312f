using System.Security.Cryptography;

namespace FlagAnalyzer.Api.Common;

/// <summary>
/// Server-generated ids: a short type prefix, then a ULID-like body (48-bit millisecond time + 80 random
/// bits in Crockford base32), so ids sort by creation time and serve as keyset cursors.
/// </summary>
public static class Ids
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string New(string prefix, TimeProvider? clock = null)
    {
        var ms = (ulong)(clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        Span<char> body = stackalloc char[26];
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
