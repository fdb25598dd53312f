using System.Net;
using System.Net.Sockets;

namespace FlagAnalyzer.Api.Webhooks;

/// <summary>
/// Where a webhook may post (SSRF): http or https only, and never to an address inside the deployment — loopback,
/// private (RFC 1918), link-local (where cloud metadata lives, 169.254.169.254), CGNAT (RFC 6598, Alibaba's metadata),
/// unspecified, multicast/reserved, IPv6 unique-local (fc00::/7, AWS's fd00:ec2::254) and link-local — unless
/// <c>Webhooks:AllowPrivateTargets</c>. Checked on create/patch, and again at delivery on the very addresses the socket
/// connects to (<see cref="ConnectAsync"/>), so a name that resolves elsewhere later (DNS rebinding) gains nothing.
/// </summary>
public static class WebhookTargets
{
    public const int MaxUrlLength = 2000;

    /// <summary>Why <paramref name="text"/> is not an acceptable target, or null.</summary>
    public static async Task<string?> CheckAsync(string? text, bool allowPrivate, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(text)) return "is required";
        if (text.Length > MaxUrlLength) return $"must be at most {MaxUrlLength} characters";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return "must be an absolute http or https URL";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "must not carry user credentials";
        if (allowPrivate) return null;
        var host = uri.DnsSafeHost;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return Internal;
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        }
        catch (SocketException)
        {
            // a name this host cannot resolve now is not refused: the check at connect time is the one that protects
            return null;
        }
        return addresses.Any(IsInternal) ? Internal : null;
    }

    private const string Internal = "must not resolve to a loopback, private, link-local, CGNAT, unique-local or metadata address";

    public static bool IsInternal(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return b[0] switch
            {
                0 or 10 or 127 => true,
                100 => b[1] is >= 64 and <= 127,        // 100.64.0.0/10 CGNAT
                169 => b[1] == 254,                      // link-local, cloud metadata
                172 => b[1] is >= 16 and <= 31,
                192 => (b[1] == 168) || (b[1] == 0 && b[2] is 0 or 2), // private, IETF protocol, TEST-NET-1
                198 => b[1] is 18 or 19,                 // benchmarking
                >= 224 => true,                          // multicast, reserved, broadcast
                _ => false,
            };
        }
        if (ip.AddressFamily != AddressFamily.InterNetworkV6) return true;
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.IPv6None) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast) return true;
        var v6 = ip.GetAddressBytes();
        if ((v6[0] & 0xFE) == 0xFC) return true;      // fc00::/7 unique-local
        // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last four bytes
        if (v6[0] == 0 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b && v6.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            return IsInternal(new IPAddress(v6.AsSpan(12, 4)));
        return false;
    }

    /// <summary>
    /// The delivery client's connect step: resolves the host itself and connects only to an address that passes
    /// <see cref="IsInternal"/> (or any, when private targets are allowed), so the checked address is the connected one.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = allowPrivate ? addresses : addresses.Where(a => !IsInternal(a)).ToArray();
        if (allowed.Length == 0) throw new HttpRequestException($"Webhook target {host} resolves only to internal addresses; refused");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
