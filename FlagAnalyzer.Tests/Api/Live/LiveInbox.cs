using System.Text.Json;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>Messages a client received, in order, with awaitable waits (a timeout, never a sleep).</summary>
public sealed class LiveInbox
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly List<JsonElement> _items = [];
    private readonly List<(Func<JsonElement, bool> Match, TaskCompletionSource<JsonElement> Done)> _waiters = [];

    public void Add(JsonElement message)
    {
        message = message.Clone();
        lock (_items)
        {
            _items.Add(message);
            foreach (var w in _waiters.Where(w => w.Match(message)).ToList())
            {
                _waiters.Remove(w);
                w.Done.TrySetResult(message);
            }
        }
    }

    public IReadOnlyList<JsonElement> Items
    {
        get { lock (_items) return _items.ToList(); }
    }

    /// <summary>The first message (already received or still to come) that matches.</summary>
    public async Task<JsonElement> WaitFor(Func<JsonElement, bool> match, string what)
    {
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_items)
        {
            foreach (var m in _items)
                if (match(m)) return m;
            _waiters.Add((match, done));
        }
        try
        {
            return await done.Task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No {what} within {Timeout.TotalSeconds}s; received: [{string.Join(", ", Items.Select(Describe))}]");
        }
    }

    public Task<JsonElement> WaitFor(string type, string? id = null) =>
        WaitFor(m => Is(m, type, id), id is null ? type : $"{type} for {id}");

    public static string Type(JsonElement m) => m.GetProperty("type").GetString()!;

    /// <summary>The event type matches and, when given, the payload's <c>flagId</c> or <c>id</c> is <paramref name="id"/>.</summary>
    public static bool Is(JsonElement m, string type, string? id = null) =>
        Type(m) == type && (id is null || Ids(m).Contains(id));

    private static IEnumerable<string?> Ids(JsonElement m)
    {
        if (!m.TryGetProperty("payload", out var p) || p.ValueKind != JsonValueKind.Object) yield break;
        foreach (var name in new[] { "flagId", "id", "sessionId" })
            if (p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String) yield return v.GetString();
    }

    private static string Describe(JsonElement m) => $"{Type(m)}({string.Join("/", Ids(m))})";
}
