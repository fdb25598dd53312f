namespace FlagAnalyzer.Api.Access;

/// <summary>
/// <c>Cors:AllowedOrigins</c> (an array, or one comma-separated string): the browser origins besides the API's
/// own that may call it (CORS) and open its live endpoints. Same-origin is always allowed; a request without
/// <c>Origin</c> (curl, SDKs, servers) is not a browser's cross-site request and is allowed.
/// </summary>
public sealed class AllowedOrigins
{
    public const string Section = "Cors:AllowedOrigins";

    public AllowedOrigins(IConfiguration config)
    {
        var section = config.GetSection(Section);
        var values = section.GetChildren().Select(c => c.Value).Append(section.Value)
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Origins = values.Select(v => v.TrimEnd('/')).Where(v => v.Length > 0).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlySet<string> Origins { get; }

    /// <summary>Whether a browser on the request's <c>Origin</c> may use this endpoint.</summary>
    public bool Allows(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return true;
        if (Origins.Contains(origin)) return true;
        return string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
    }
}
