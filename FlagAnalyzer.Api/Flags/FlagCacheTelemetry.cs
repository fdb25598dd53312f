using System.Diagnostics;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Spans around flag reads, so one request shows where its flag came from: the replica's local copy,
/// Redis, or SQLite. Exported by ServiceDefaults (every <c>FlagAnalyzer.*</c> source).
/// </summary>
internal static class FlagCacheTelemetry
{
    public static readonly ActivitySource Source = new("FlagAnalyzer.Flags");

    /// <summary>Where a read was answered: <c>local</c>, <c>redis</c>, <c>miss</c>, or <c>unavailable</c> (Redis down).</summary>
    public const string ResultTag = "flag.cache.result";

    /// <summary>
    /// With <c>unavailable</c>, why: <c>circuit_open</c> (Redis skipped, no wait), <c>disconnected</c>, <c>settling</c>
    /// (writes still to replay after an outage), or — Redis asked and no answer — <c>timeout</c> or <c>error</c>.
    /// </summary>
    public const string UnavailableTag = "flag.cache.unavailable_reason";

    public const string FlagTag = "flag.key";
}
