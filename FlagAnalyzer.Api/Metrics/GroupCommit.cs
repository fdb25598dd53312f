using System.Threading.Channels;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>
/// Group commit: callers submit one item each and await its result; a single writer takes everything queued
/// (up to <c>maxGroup</c>), hands it to <c>commitGroup</c> — which writes the whole group in one transaction and
/// returns one result per item, in order — and only then completes the callers. So a caller's result still
/// means "committed", while concurrent callers share one transaction instead of queueing for SQLite's write lock
/// one by one. An idle writer takes a lone item at once: grouping never waits for company.
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private sealed record Entry(TItem Item, TaskCompletionSource<TResult> Done);

    private readonly Channel<Entry> _queue;
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commitGroup;
    private readonly int _maxGroup;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;

    public GroupCommit(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commitGroup, int maxGroup = 256,
        int capacity = 10_000)
    {
        _commitGroup = commitGroup;
        _maxGroup = maxGroup;
        // a full queue makes submitters wait (back-pressure) rather than grow memory without bound
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Groups committed so far and the items in them (for benchmarks and tests).</summary>
    public (long Groups, long Items) Stats => (Interlocked.Read(ref _groups), Interlocked.Read(ref _items));
    private long _groups;
    private long _items;
    private long _queued;

    /// <summary>Items queued so far, committed or not (lets a test know every caller is waiting before it lets a commit run).</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>
    /// Queues <paramref name="item"/> and returns its result once its group committed. Cancelling stops the wait,
    /// not the write: an item already queued is committed all the same.
    /// </summary>
    public async Task<TResult> SubmitAsync(TItem item, CancellationToken ct = default)
    {
        var entry = new Entry(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(entry, ct);
        Interlocked.Increment(ref _queued);
        return await entry.Done.Task.WaitAsync(ct);
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<Entry>(_maxGroup);
        var items = new List<TItem>(_maxGroup);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                while (group.Count < _maxGroup && _queue.Reader.TryRead(out var e)) group.Add(e);
                foreach (var e in group) items.Add(e.Item);
                try
                {
                    var results = await _commitGroup(items, _stop.Token);
                    if (results.Count != group.Count) throw new InvalidOperationException($"commitGroup returned {results.Count} results for {group.Count} items");
                    for (var i = 0; i < group.Count; i++) group[i].Done.TrySetResult(results[i]);
                    Interlocked.Increment(ref _groups);
                    Interlocked.Add(ref _items, group.Count);
                }
                catch (Exception ex)
                {
                    // nothing of the group committed: every caller in it fails
                    foreach (var e in group) e.Done.TrySetException(ex);
                }
                group.Clear();
                items.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        while (_queue.Reader.TryRead(out var left)) left.Done.TrySetCanceled();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _writer;
        _stop.Dispose();
    }
}
