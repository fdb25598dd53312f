namespace FlagAnalyzer.Api.Common;

/// <summary>Times are stored as Unix milliseconds (sortable, range-friendly) and shown as ISO-8601 UTC.</summary>
public static class Time
{
    public static long ToMs(DateTimeOffset t) => t.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    public static DateTimeOffset? FromMs(long? ms) => ms is { } v ? FromMs(v) : null;
}
