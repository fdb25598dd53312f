using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Live;

/// <summary>
/// Maps client topics (CONTRACT.md) and events onto SignalR groups so that a connection gets each matching
/// event exactly once, whatever topics it combines. Topics overlap (<c>all</c> covers every flag and the
/// anomalies; <c>anomalies</c> and <c>flag:X</c> both match an anomaly on X), so a connection joins the
/// smallest set of groups covering its topics, and a flag's anomaly events travel on their own group
/// (<c>anomalies:flag:X</c>) that only connections without <c>anomalies</c> join.
/// </summary>
public static class LiveTopics
{
    public const string All = "all";
    public const string Anomalies = "anomalies";
    public const string FlagPrefix = "flag:";
    public const string ChatPrefix = "chat:";
    public const int MaxIdLength = 128;

    public static string Flag(string flagId) => FlagPrefix + flagId;
    public static string Chat(string sessionId) => ChatPrefix + sessionId;
    private static string FlagAnomalies(string flagId) => "anomalies:" + Flag(flagId);

    /// <summary>True when <paramref name="topic"/> is one a client may subscribe to.</summary>
    public static bool IsValid(string? topic) => topic switch
    {
        null => false,
        All or Anomalies => true,
        _ when topic.StartsWith(FlagPrefix, StringComparison.Ordinal) => IsId(topic.AsSpan(FlagPrefix.Length)),
        _ when topic.StartsWith(ChatPrefix, StringComparison.Ordinal) => IsId(topic.AsSpan(ChatPrefix.Length)),
        _ => false,
    };

    private static bool IsId(ReadOnlySpan<char> id)
    {
        if (id.Length is 0 or > MaxIdLength) return false;
        foreach (var c in id)
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        return true;
    }

    public static bool IsChat(string type) => type is LiveEventTypes.ChatToken or LiveEventTypes.ChatMessage;
    public static bool IsAnomaly(string type) => type is LiveEventTypes.AnomalyDetected or LiveEventTypes.AnomalyResolved;

    /// <summary>The groups an event is sent to.</summary>
    public static IReadOnlyList<string> GroupsOf(LiveEvent e)
    {
        if (IsChat(e.Type)) return e.SessionId is { Length: > 0 } s ? [Chat(s)] : [];
        if (IsAnomaly(e.Type)) return e.FlagId is { Length: > 0 } a ? [All, Anomalies, FlagAnomalies(a)] : [All, Anomalies];
        return e.FlagId is { Length: > 0 } f ? [All, Flag(f)] : [All];
    }

    /// <summary>
    /// The group a connection of a key scoped to <paramref name="environment"/> joins instead of <paramref name="group"/>
    /// (<see cref="FlagScope"/>): flag events go to these only for their flag's environment, chat events only for their
    /// session's.
    /// </summary>
    public static string Scoped(string environment, string group) => $"env:{environment}|{group}";

    /// <summary>The groups an event goes to: <see cref="GroupsOf"/>, and their scoped twins for its flag's (or chat session's) environment.</summary>
    public static IReadOnlyList<string> GroupsOf(LiveEvent e, string? environment)
    {
        var groups = GroupsOf(e);
        if (environment is null) return groups;
        return [.. groups, .. groups.Select(g => Scoped(environment, g))];
    }

    /// <summary>The groups a connection with these (valid) topics belongs to.</summary>
    public static HashSet<string> GroupsFor(IReadOnlySet<string> topics)
    {
        var groups = new HashSet<string>(StringComparer.Ordinal);
        var all = topics.Contains(All);
        var anomalies = topics.Contains(Anomalies);
        if (all) groups.Add(All);
        else if (anomalies) groups.Add(Anomalies);
        foreach (var t in topics)
        {
            if (t.StartsWith(ChatPrefix, StringComparison.Ordinal)) groups.Add(t);
            else if (!all && t.StartsWith(FlagPrefix, StringComparison.Ordinal))
            {
                groups.Add(t);
                if (!anomalies) groups.Add(FlagAnomalies(t[FlagPrefix.Length..]));
            }
        }
        return groups;
    }
}
