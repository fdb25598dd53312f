using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// Key secrets: <c>fa_&lt;prefix&gt;_&lt;secret&gt;</c>, where the prefix (8 base32 characters) names the key in
/// lists and logs and the secret is 32 random bytes (base64url). Only a SHA-256 of the whole presented
/// string is stored.
/// <para>
/// Why a plain, fast hash: a secret carries 256 random bits, so there is no dictionary to try and no
/// brute force to slow down; a slow password hash (PBKDF2, bcrypt, Argon2) exists for low-entropy
/// human passwords and would cost milliseconds on every request. A pepper (HMAC with a server key)
/// would only help if the database leaked without the configuration, and every replica would have to
/// share it. The bootstrap key is the one user-chosen secret; it must be at least 32 characters.
/// </para>
/// </summary>
public static class ApiKeySecrets
{
    public const string Scheme = "fa";
    public const int PrefixLength = 8;
    public const int SecretBytes = 32;
    public const int HashBytes = 32;
    /// <summary>The prefix under which keys that are not in the <c>fa_</c> format (the bootstrap key) are stored.</summary>
    public const string ForeignPrefix = "-";
    /// <summary>Longer presented values are rejected before hashing.</summary>
    public const int MaxPresentedLength = 512;

    private const string PrefixAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    /// <summary>A new key: the text to show once, its prefix and the hash to store.</summary>
    public static (string Secret, string Prefix, byte[] Hash) Generate()
    {
        Span<char> prefix = stackalloc char[PrefixLength];
        for (var i = 0; i < prefix.Length; i++) prefix[i] = PrefixAlphabet[RandomNumberGenerator.GetInt32(PrefixAlphabet.Length)];
        var random = RandomNumberGenerator.GetBytes(SecretBytes);
        var secret = $"{Scheme}_{new string(prefix)}_{Base64Url(random)}";
        return (secret, new string(prefix), Hash(secret));
    }

    /// <summary>The prefix of a presented key: the middle part of <c>fa_prefix_secret</c>, else <see cref="ForeignPrefix"/>.</summary>
    public static string PrefixOf(string presented)
    {
        var span = presented.AsSpan();
        if (span.Length > Scheme.Length + PrefixLength + 2 && span.StartsWith(Scheme + "_", StringComparison.Ordinal)
            && span[Scheme.Length + 1 + PrefixLength] == '_')
        {
            var prefix = span.Slice(Scheme.Length + 1, PrefixLength);
            foreach (var c in prefix) if (!PrefixAlphabet.Contains(c)) return ForeignPrefix;
            return prefix.ToString();
        }
        return ForeignPrefix;
    }

    public static byte[] Hash(string presented)
    {
        var hash = new byte[HashBytes];
        Hash(presented, hash);
        return hash;
    }

    /// <summary>SHA-256 of the UTF-8 text, without allocating for keys of ordinary length.</summary>
    public static void Hash(string presented, Span<byte> destination)
    {
        var max = Encoding.UTF8.GetMaxByteCount(presented.Length);
        Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(presented, utf8);
        SHA256.HashData(utf8[..n], destination);
        CryptographicOperations.ZeroMemory(utf8[..n]);
    }

    /// <summary>
    /// The one comparison of a presented key with a stored one: in constant time, so the time taken says
    /// nothing about how many leading bytes matched.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> storedHash, ReadOnlySpan<byte> presentedHash) =>
        storedHash.Length == HashBytes && CryptographicOperations.FixedTimeEquals(storedHash, presentedHash);

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
