using System.Globalization;

namespace FlagAnalyzer.Api.Flags;

/// <summary>
/// What a flag write transaction on PostgreSQL announces with <c>pg_notify</c> on <see cref="Channel"/>, delivered to
/// every listening session exactly when the transaction commits (and never when it rolls back): the flag and its new
/// version, or its deletion. Payload <c>id|version</c>, or <c>id|version|deleted|name</c> (ids and names never hold a
/// <c>|</c>). It comes from the database itself, so it reaches the other replicas even when the writer dies right after
/// its commit, before it could hand the write to Redis.
/// </summary>
public sealed record FlagNotification(string FlagId, long Version, bool Deleted, string? Name = null)
{
    /// <summary>The PostgreSQL notification channel (an unquoted identifier, so <c>LISTEN</c> takes it as written).</summary>
    public const string Channel = "flaganalyzer_flags";

    public const string DeletedTag = "deleted";

    public static FlagNotification? Parse(string? payload)
    {
        var parts = (payload ?? "").Split('|');
        if (parts.Length < 2 || parts[0].Length == 0 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            return null;
        if (parts.Length == 2) return new FlagNotification(parts[0], version, false);
        return parts.Length == 4 && parts[2] == DeletedTag ? new FlagNotification(parts[0], version, true, parts[3]) : null;
    }
}
