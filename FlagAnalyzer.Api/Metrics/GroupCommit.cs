using System.Threading.Channels;

namespace FlagAnalyzer.Api.Metrics;

/// <summary>
/// Group commit: callers submit one item each and await its result; a writer takes everything queued
/// (up to <c>maxGroup</c>), hands it to <c>commitGroup</c> — which writes the whole group in one transaction and
/// returns one result per item, in order — and only then completes the callers. So a caller's result still
/// means "committed", while concurrent callers share one transaction instead of queueing for SQLite's write lock
/// one by one. An idle writer takes a lone item at once: grouping never waits for company.
/// With <c>maxConcurrent</c> above 1 (PostgreSQL, whose writers lock per flag), the next group may start once every
/// running group has called its <c>started</c> callback (it holds its locks): a group for other flags then commits
/// alongside, and one for the same flags waits at the database with its work done up to the lock, instead of the
/// writer idling between commits. A group never starts while another one is still waiting for its locks, so
/// requests that arrive meanwhile still queue into one group.
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private sealed record Entry(TItem Item, TaskCompletionSource<TResult> Done);

    private readonly Channel<Entry> _queue;
    private readonly Func<IReadOnlyList<TItem>, Action, CancellationToken, Task<IReadOnlyList<TResult>>> _commitGroup;
    private readonly int _maxGroup;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private readonly List<Task> _running = [];

    public GroupCommit(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commitGroup, int maxGroup = 256,
        int capacity = 10_000)
        : this((items, _, ct) => commitGroup(items, ct), maxGroup, capacity, maxConcurrent: 1)
    {
    }

    /// <param name="commitGroup">Writes a group; calls its <see cref="Action"/> once the group holds what keeps it apart
    /// from the next one (its locks), if it ever does.</param>
    public GroupCommit(Func<IReadOnlyList<TItem>, Action, CancellationToken, Task<IReadOnlyList<TResult>>> commitGroup, int maxGroup,
        int capacity, int maxConcurrent)
    {
        _commitGroup = commitGroup;
        _maxGroup = maxGroup;
        _slots = new SemaphoreSlim(Math.Max(1, maxConcurrent));
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
        Task previousStarted = Task.CompletedTask;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                await _slots.WaitAsync(_stop.Token);
                await previousStarted.WaitAsync(_stop.Token);
                var group = new List<Entry>(_maxGroup);
                while (group.Count < _maxGroup && _queue.Reader.TryRead(out var e)) group.Add(e);
                var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                previousStarted = started.Task;
                var run = RunGroupAsync(group, started);
                lock (_running)
                {
                    _running.RemoveAll(t => t.IsCompleted);
                    _running.Add(run);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        Task[] running;
        lock (_running) running = [.. _running];
        await Task.WhenAll(running);
        while (_queue.Reader.TryRead(out var left)) left.Done.TrySetCanceled();
    }

    private async Task RunGroupAsync(List<Entry> group, TaskCompletionSource started)
    {
        await Task.Yield();
        try
        {
            var results = await _commitGroup(group.ConvertAll(e => e.Item), () => started.TrySetResult(), _stop.Token);
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
        finally
        {
            started.TrySetResult();
            _slots.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _writer;
        _stop.Dispose();
        _slots.Dispose();
    }
}
