namespace FlagAnalyzer.Api.Access;

public enum AuthMode
{
    /// <summary>Every protected endpoint needs a key (the default).</summary>
    Enabled,
    /// <summary>Local experiments only: everyone is admin; /health and the UI say so in red.</summary>
    Disabled,
}

/// <summary>The <c>Auth</c> configuration section.</summary>
public sealed class AccessOptions
{
    public const string Section = "Auth";
    public const int MinBootstrapKeyLength = 32;

    public AuthMode Mode { get; set; } = AuthMode.Enabled;

    /// <summary>Creates the first admin key (used as given) when no key exists; at least 32 characters.</summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>How long a verified key stays in the in-memory cache while revocations arrive over Redis.</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a cached key is trusted when revocations cannot arrive (no Redis, or Redis away): the 1 s promise.</summary>
    public TimeSpan KeyCacheTtlWithoutInvalidation { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>last_used_at is written at most this often per key, not once per request.</summary>
    public TimeSpan LastUsedResolution { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Failed attempts (a bad or revoked key) allowed per client address per <see cref="FailedAttemptWindow"/>; then 429.</summary>
    public int FailedAttemptLimit { get; set; } = 20;

    public TimeSpan FailedAttemptWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <c>Auth:KnownProxies</c> (an array, or one comma-separated string): proxies (addresses, or networks such as
    /// <c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> names the client, so failed attempts (and OFREP's per-client limit)
    /// count per client behind them. None by default, not even loopback: a header anyone can send is believed only
    /// from a peer the operator named.
    /// </summary>
    public const string KnownProxiesSection = "Auth:KnownProxies";

    /// <summary>
    /// Writes per key: a token bucket of this many... Generous on purpose: it stops a runaway or stolen key, not a
    /// bulk import or an ingest pipeline (raise it for those).
    /// </summary>
    public int WriteBurst { get; set; } = 1000;

    /// <summary>...refilled at this many per second.</summary>
    public int WritesPerSecond { get; set; } = 500;

    /// <summary>
    /// ...in one refill every this long (<see cref="WritesPerSecond"/> × the period's seconds at a time). A second by
    /// default; a test that counts writes against the burst sets it long, so no refill lands between its writes.
    /// </summary>
    public TimeSpan WriteRefillPeriod { get; set; } = TimeSpan.FromSeconds(1);
}
