using FlagAnalyzer.Api.Access;
using Microsoft.AspNetCore.SignalR;

namespace FlagAnalyzer.Api.Live;

/// <summary>One live event on the wire: <c>{ "type", "payload" }</c>, the same on SignalR and <c>/ws</c>.</summary>
public sealed record LiveEnvelope(string Type, object Payload);

/// <summary>What the server calls on a SignalR client.</summary>
public interface ILiveClient
{
    [HubMethodName("event")]
    Task Event(LiveEnvelope envelope);
}

/// <summary>
/// <c>/hubs/live</c>. A connection starts with no topics; <see cref="Subscribe"/>/<see cref="Unsubscribe"/>
/// change them (see <see cref="LiveTopics"/> for how topics become groups). After a reconnect the client
/// has a new connection and subscribes again.
/// </summary>
public sealed class LiveHub : Hub<ILiveClient>
{
    public const string Path = "/hubs/live";
    public const int MaxTopicsPerConnection = 64;
    private const string TopicsKey = "live.topics";

    public Task Subscribe(string topic)
    {
        if (!LiveTopics.IsValid(topic))
            throw new HubException($"Unknown topic '{topic}'. Use all, anomalies, flag:{{flagId}} or chat:{{sessionId}}.");
        var topics = Topics();
        if (topics.Contains(topic)) return Task.CompletedTask;
        if (topics.Count >= MaxTopicsPerConnection)
            throw new HubException($"A connection can hold at most {MaxTopicsPerConnection} topics.");
        var before = LiveTopics.GroupsFor(topics);
        topics.Add(topic);
        return ApplyAsync(before, LiveTopics.GroupsFor(topics));
    }

    public Task Unsubscribe(string topic)
    {
        var topics = Topics();
        var before = LiveTopics.GroupsFor(topics);
        return topics.Remove(topic) ? ApplyAsync(before, LiveTopics.GroupsFor(topics)) : Task.CompletedTask;
    }

    // hub methods of one connection run one at a time (MaximumParallelInvocationsPerClient = 1), so Items needs no lock
    private HashSet<string> Topics()
    {
        if (Context.Items.TryGetValue(TopicsKey, out var v) && v is HashSet<string> set) return set;
        set = new HashSet<string>(StringComparer.Ordinal);
        Context.Items[TopicsKey] = set;
        return set;
    }

    private async Task ApplyAsync(HashSet<string> before, HashSet<string> after)
    {
        // a key scoped to an environment joins that environment's twins of the groups (FlagScope)
        if (Context.User?.FindFirst(ApiKeyVerifier.EnvironmentClaim)?.Value is { Length: > 0 } env)
        {
            before = before.Select(g => LiveTopics.Scoped(env, g)).ToHashSet(StringComparer.Ordinal);
            after = after.Select(g => LiveTopics.Scoped(env, g)).ToHashSet(StringComparer.Ordinal);
        }
        // join first, so an event published meanwhile is not lost between leaving one group and joining its replacement
        foreach (var g in after.Where(g => !before.Contains(g))) await Groups.AddToGroupAsync(Context.ConnectionId, g);
        foreach (var g in before.Where(g => !after.Contains(g))) await Groups.RemoveFromGroupAsync(Context.ConnectionId, g);
    }
}
