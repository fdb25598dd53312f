using System.Security.Cryptography;
using System.Text;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// <c>X-FlagAnalyzer-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>: the scheme Stripe
/// documents for its webhooks. The timestamp is signed with the body so a receiver can refuse old replays.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-FlagAnalyzer-Signature";

    public static string Sign(string secret, long unixSeconds, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{unixSeconds}.{body}"));
        return $"t={unixSeconds},v1={Convert.ToHexStringLower(mac)}";
    }
}
