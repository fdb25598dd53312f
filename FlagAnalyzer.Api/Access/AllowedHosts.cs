using System.Net;

namespace FlagAnalyzer.Api.Access;

/// <summary>
/// <c>Auth:AllowedHosts</c> (an array, or one comma-separated string): the names this API answers to in the
/// <c>Host</c> header, besides loopback names (<c>localhost</c>, <c>*.localhost</c>) and IP addresses, which are always
/// allowed. A name may be exact (<c>flags.example.com</c>), a subdomain wildcard (<c>*.example.com</c>) or <c>*</c> (any:
/// only behind a proxy that checks Host itself).
/// <para>
/// Why: DNS rebinding. A page on <c>evil.example</c> re-points its name at this server; the browser then sends the
/// page's requests here with <c>Host: evil.example</c> and <c>Origin: http://evil.example</c>, which look same-origin
/// to every Origin check. Only a name can be rebound, so IP-literal hosts (probes, direct access) stay allowed, and
/// browsers resolve <c>localhost</c> and <c>*.localhost</c> to loopback themselves (RFC 6761 §6.3).
/// </para>
/// </summary>
public sealed class AllowedHosts
{
    public const string Section = "Auth:AllowedHosts";

    private readonly HashSet<string> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];
    private readonly bool _any;

    public AllowedHosts(IConfiguration config)
    {
        var section = config.GetSection(Section);
        var values = section.GetChildren().Select(c => c.Value).Append(section.Value)
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var value in values)
        {
            var host = value.TrimEnd('.');
            if (host == "*") _any = true;
            else if (host.StartsWith("*.", StringComparison.Ordinal)) _suffixes.Add(host[1..]);
            else if (host.Length > 0) _exact.Add(host);
        }
    }

    public bool Allows(HostString host)
    {
        if (_any) return true;
        if (!host.HasValue) return false;
        var name = host.Host.TrimEnd('.');
        if (name.Length == 0) return false;
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)) return true;
        if (IPAddress.TryParse(name.StartsWith('[') ? name[1..^1] : name, out _)) return true;
        if (_exact.Contains(name)) return true;
        foreach (var suffix in _suffixes)
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && name.Length > suffix.Length) return true;
        return false;
    }

    /// <summary>First in the pipeline: a request for a host this API is not configured as is refused with 400.</summary>
    public static IApplicationBuilder UseHostCheck(IApplicationBuilder app)
    {
        var hosts = app.ApplicationServices.GetRequiredService<AllowedHosts>();
        // not an async lambda: an allowed request passes through without a pending frame here (an idle event stream is a
        // request held open for hours)
        return app.Use((http, next) => hosts.Allows(http.Request.Host)
            ? next(http)
            : AccessMiddleware.Problem(http, StatusCodes.Status400BadRequest, "Host not allowed",
                $"This API does not answer to the host '{http.Request.Host}'; add it to {Section} (loopback names and IP addresses are always allowed)."));
    }
}
