using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Support;

/// <summary>Every live event the app publishes, with a way to await one (a live transport, as SignalR would be).</summary>
public sealed class LiveRecorder : ILiveEventSink
{
    /// <summary>How long <see cref="WaitForAsync"/> waits for a matching event.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly List<LiveEvent> _events = [];
    private readonly List<(Func<LiveEvent, bool> Match, TaskCompletionSource<LiveEvent> Done)> _waiters = [];

    public ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
    {
        lock (_events)
        {
            _events.Add(e);
            foreach (var w in _waiters.Where(w => w.Match(e)).ToList())
            {
                w.Done.TrySetResult(e);
                _waiters.Remove(w);
            }
        }
        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<LiveEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    public Task<LiveEvent> WaitForAsync(Func<LiveEvent, bool> match)
    {
        lock (_events)
        {
            if (_events.FirstOrDefault(match) is { } seen) return Task.FromResult(seen);
            var tcs = new TaskCompletionSource<LiveEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, tcs));
            return tcs.Task.WaitAsync(Patience);
        }
    }
}
