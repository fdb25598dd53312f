namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// <c>Live:Ws</c> configuration: what one <c>/ws</c> client may cost the server. The defaults hold a few hundred
/// MiB at worst (every socket full) and leave room for a dashboard per browser tab behind one NAT address.
/// </summary>
public sealed class WsOptions
{
    public const string Section = "Live:Ws";

    /// <summary><c>Live:Ws:MaxQueueBytes</c>: outgoing bytes held for one socket before its oldest messages are dropped.</summary>
    public long MaxQueueBytes { get; set; } = 1024 * 1024;

    /// <summary><c>Live:Ws:MaxQueueMessages</c>: outgoing messages held for one socket.</summary>
    public int MaxQueueMessages { get; set; } = 512;

    /// <summary><c>Live:Ws:MaxConnections</c>: open <c>/ws</c> sockets on this replica; one more is answered 503.</summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary><c>Live:Ws:MaxConnectionsPerAddress</c>: open sockets from one client IP address; one more is answered 429.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 50;
}
