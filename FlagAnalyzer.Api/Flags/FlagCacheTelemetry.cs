using System.Diagnostics;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// Spans around flag reads, so one request shows where its flag came from: the replica's snapshot, or the database.
/// Exported by ServiceDefaults (every <c>FlagAnalyzer.*</c> source).
/// </summary>
internal static class FlagCacheTelemetry
{
    public static readonly ActivitySource Source = new("FlagAnalyzer.Flags");

    /// <summary>Where a read was answered: <c>snapshot</c>, or <c>miss</c> (then a database read follows).</summary>
    public const string ResultTag = "flag.cache.result";

    public const string FlagTag = "flag.key";
}
