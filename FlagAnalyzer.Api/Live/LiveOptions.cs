namespace FlagAnalyzer.Api.Live;

/// <summary>How live events travel: <see cref="RedisConnectionString"/> set means several replicas share a Redis backplane.</summary>
public sealed record LiveOptions(string? RedisConnectionString)
{
    /// <summary>The Redis channel prefix, so other users of the same Redis never see our messages.</summary>
    public const string ChannelPrefix = "flaganalyzer-live";
}
