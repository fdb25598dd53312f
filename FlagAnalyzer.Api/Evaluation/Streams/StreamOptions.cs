namespace FlagAnalyzer.Api.Evaluation.Streams;

/// <summary><c>Evaluation:Streams</c>: OFREP 0.3 event streams (server-sent events telling SDKs to re-fetch).</summary>
public sealed class StreamOptions
{
    /// <summary><c>Enabled</c>: whether bulk answers advertise a stream (<c>eventStreams</c>) and <c>/ofrep/v1/events</c> serves one.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>TokenMinutes</c>: how long a stream URL may be used to open a stream. URLs are issued per half of it, so one is
    /// valid for between half of it and all of it; the bulk ETag changes with the half, so a provider holding an
    /// expired URL gets a fresh one on its next bulk request instead of a 304.
    /// </summary>
    public int TokenMinutes { get; set; } = 60;

    /// <summary><c>InactivityDelaySec</c>: sent as the stream's <c>inactivityDelaySec</c> (how long a hidden page keeps it open).</summary>
    public int InactivityDelaySec { get; set; } = 120;

    /// <summary><c>HeartbeatSeconds</c>: a comment line this often, so proxies and clients see a live connection.</summary>
    public int HeartbeatSeconds { get; set; } = 15;

    /// <summary>
    /// <c>KeyRecheckSeconds</c>: how often the keys of open streams are looked up again (revocation also closes them at
    /// once through the access layer; this covers a revocation announced while Redis was away).
    /// </summary>
    public int KeyRecheckSeconds { get; set; } = 30;

    /// <summary>
    /// <c>FreshnessWaitMs</c>: how long a bulk request carrying <c>flagConfigEtag</c> waits for this replica's snapshot to
    /// reach the configuration the stream announced before it answers with what it has.
    /// </summary>
    public int FreshnessWaitMs { get; set; } = 2000;

    /// <summary>
    /// <c>ServeOnConnections</c>: a stream opened as the first request of a plain HTTP/1.1 connection, or at a clean
    /// request boundary of a keep-alive one (<see cref="KeepAliveHandoff"/>), is served below Kestrel's HTTP layer
    /// (<see cref="StreamConnections"/>), which holds less than half the memory per idle stream; off, every stream is an
    /// ordinary request and Kestrel reads every connection directly.
    /// </summary>
    public bool ServeOnConnections { get; set; } = true;

    /// <summary><c>MaxStreams</c>: open streams per replica before new ones get 503 (with Retry-After); 0 = no limit.</summary>
    public int MaxStreams { get; set; } = 50_000;
}
