using FlagAnalyzer.Api.Metrics;

namespace FlagAnalyzer.Tests.Unit.Metrics;

public sealed class GroupCommitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ConcurrentSubmissions_WhileAGroupCommits_ShareTheNextGroup_AndEachGetsItsOwnResult()
    {
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var groups = new List<int[]>();
        await using var commit = new GroupCommit<int, string>(async (items, _) =>
        {
            lock (groups) groups.Add([.. items]);
            if (items[0] == 0)
            {
                firstStarted.TrySetResult();
                await releaseFirst.Task;
            }
            return items.Select(i => $"stored {i}").ToList();
        });

        var first = commit.SubmitAsync(0);
        await firstStarted.Task.WaitAsync(Timeout);
        var rest = Enumerable.Range(1, 10).Select(i => commit.SubmitAsync(i)).ToList();
        // the ten are queued behind the first group's transaction; none completes before it commits
        Assert.DoesNotContain(rest, t => t.IsCompleted);
        releaseFirst.SetResult();

        Assert.Equal("stored 0", await first.WaitAsync(Timeout));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"stored {i}"), await Task.WhenAll(rest).WaitAsync(Timeout));
        Assert.Equal([[0], [.. Enumerable.Range(1, 10)]], groups);
        Assert.Equal((2L, 11L), commit.Stats);
    }

    [Fact]
    public async Task AFailedGroup_FailsEveryCallerInIt_AndTheNextGroupStillCommits()
    {
        var attempt = 0;
        await using var commit = new GroupCommit<int, int>((items, _) =>
            Interlocked.Increment(ref attempt) == 1 ? throw new InvalidOperationException("disk full") : Task.FromResult<IReadOnlyList<int>>([.. items]));

        await Assert.ThrowsAsync<InvalidOperationException>(() => commit.SubmitAsync(1).WaitAsync(Timeout));
        Assert.Equal(2, await commit.SubmitAsync(2).WaitAsync(Timeout));
    }

    [Fact]
    public async Task GroupsNeverExceedTheirMaximum()
    {
        var sizes = new List<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var commit = new GroupCommit<int, int>(async (items, _) =>
        {
            lock (sizes) sizes.Add(items.Count);
            await gate.Task;
            return [.. items];
        }, maxGroup: 4);

        var all = Enumerable.Range(0, 20).Select(i => commit.SubmitAsync(i)).ToList();
        gate.SetResult();
        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(all).WaitAsync(Timeout));
        Assert.All(sizes, n => Assert.InRange(n, 1, 4));
    }

    [Fact]
    public async Task WithOverlap_TheNextGroupStartsOnlyOnceTheRunningOneHoldsItsLocks_AndThenCommitsAlongside()
    {
        var firstIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstLocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var groups = new List<int[]>();
        await using var commit = new GroupCommit<int, string>(async (items, locked, _) =>
        {
            lock (groups) groups.Add([.. items]);
            if (items[0] == 0)
            {
                firstIn.TrySetResult();
                await firstLocked.Task; // waiting for its locks: nothing else may start
                locked();
                await releaseFirst.Task; // holding them: the next group runs alongside
            }
            else locked();
            return items.Select(i => $"stored {i}").ToList();
        }, maxGroup: 256, capacity: 100, maxConcurrent: 2);

        var first = commit.SubmitAsync(0);
        await firstIn.Task.WaitAsync(Timeout);
        // a failed assertion must not leave the first group waiting forever (disposing waits for it)
        try
        {
            var rest = new List<Task<string>> { commit.SubmitAsync(1) };
            // what must not happen has no signal: a second started group would have committed item 1 well within this bound
            Assert.NotSame(rest[0], await Task.WhenAny(rest[0], Task.Delay(TimeSpan.FromSeconds(1))));
            rest.AddRange(Enumerable.Range(2, 4).Select(i => commit.SubmitAsync(i)));
            lock (groups) Assert.Single(groups);

            firstLocked.TrySetResult();
            // all five queued while the first waited for its locks, so they form one group, which commits before the first
            Assert.Equal(Enumerable.Range(1, 5).Select(i => $"stored {i}"), await Task.WhenAll(rest).WaitAsync(Timeout));
            Assert.False(first.IsCompleted);
            releaseFirst.TrySetResult();
            Assert.Equal("stored 0", await first.WaitAsync(Timeout));
            Assert.Equal([[0], [1, 2, 3, 4, 5]], groups);
        }
        finally
        {
            firstLocked.TrySetResult();
            releaseFirst.TrySetResult();
        }
    }
}
