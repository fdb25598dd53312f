using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary>
/// The credential in a stream URL: <c>{keyId}.{environment, base64url}.{expiry, Unix s}.{HMAC-SHA256, base64url}</c>, the
/// MAC keyed by a secret bound to the key (<c>ApiKeyVerifier.BoundSecretAsync</c>, derived from its stored hash), so it
/// names the key without carrying it, every replica checks it, and it dies with the key. Deterministic for a (key,
/// environment, expiry): the token stays the same for a whole period (the URL's <c>since</c> changes only with the configuration).
/// </summary>
public static class StreamToken
{
    public const string Purpose = "ofrep-event-stream-v1";
    private const int MacBytes = 16;

    public readonly record struct Claims(string KeyId, string? Environment, long ExpiresUnix);

    /// <summary>The expiry of a URL issued at <paramref name="now"/>: the end of the period after the current one.</summary>
    public static long ExpiryFor(DateTimeOffset now, TimeSpan lifetime, out long period)
    {
        var half = Math.Max(1, (long)lifetime.TotalSeconds / 2);
        period = now.ToUnixTimeSeconds() / half;
        return (period + 2) * half;
    }

    public static string Issue(Claims c, byte[] secret)
    {
        var payload = Payload(c);
        return payload + "." + Base64Url.EncodeToString(Mac(payload, secret));
    }

    /// <summary>The claims of a well-formed token, before its MAC is checked (the key id says which secret to check it with).</summary>
    public static bool TryRead(string? token, out Claims claims, out string payload, out byte[] mac)
    {
        claims = default;
        payload = "";
        mac = [];
        if (string.IsNullOrEmpty(token) || token.Length > 512) return false;
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0].Length == 0) return false;
        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)) return false;
        string? environment = null;
        if (parts[1].Length > 0)
        {
            try { environment = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])); }
            catch (FormatException) { return false; }
        }
        try { mac = Base64Url.DecodeFromChars(parts[3]); }
        catch (FormatException) { return false; }
        claims = new Claims(parts[0], environment, expires);
        payload = $"{parts[0]}.{parts[1]}.{parts[2]}";
        return true;
    }

    public static bool Verify(string payload, byte[] mac, byte[] secret) =>
        mac.Length == MacBytes && CryptographicOperations.FixedTimeEquals(Mac(payload, secret), mac);

    private static string Payload(Claims c) =>
        $"{c.KeyId}.{(c.Environment is null ? "" : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(c.Environment)))}.{c.ExpiresUnix.ToString(CultureInfo.InvariantCulture)}";

    private static byte[] Mac(string payload, byte[] secret) => HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(payload)).AsSpan(0, MacBytes).ToArray();
}
