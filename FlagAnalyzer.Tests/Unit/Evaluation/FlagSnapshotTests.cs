using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

public sealed class FlagSnapshotTests
{
    private static FlagSnapshotStore Store() => new(new Db("Data Source=:memory:"), NullLogger<FlagSnapshotStore>.Instance);

    private static Flag Flag(string id, long version, bool enabled = true) =>
        new() { Id = id, Name = id, Key = id, Enabled = enabled, RolloutPercentage = 100, Version = version };

    [Fact]
    public void Apply_SwapsInANewSnapshot_WithANewVersion()
    {
        var store = Store();
        var before = store.Current;
        FlagSnapshot? swapped = null;
        store.Swapped += s => swapped = s;

        store.Apply(Flag("a", 1));

        Assert.NotSame(before, store.Current);
        Assert.Same(store.Current, swapped);
        Assert.NotEqual(before.Version, store.Current.Version);
        Assert.True(store.Current.TryGet("a", out _));
        Assert.False(before.TryGet("a", out _)); // a reader holding the old snapshot sees it unchanged
    }

    [Fact]
    public void Apply_OlderVersion_IsIgnored()
    {
        var store = Store();
        store.Apply(Flag("a", 2, enabled: false));
        store.Apply(Flag("a", 1, enabled: true));

        Assert.True(store.Current.TryGet("a", out var f));
        Assert.False(f.Enabled);
    }

    [Fact]
    public void Remove_IsNotUndoneByALateRead()
    {
        var store = Store();
        store.Apply(Flag("a", 1));
        store.Remove(Flag("a", 1));
        store.Apply(Flag("a", 1));

        Assert.False(store.Current.TryGet("a", out _));
    }

    [Fact]
    public void Version_DependsOnTheFlagsNotOnTheReplica()
    {
        var one = Store();
        var two = Store();
        one.Apply(Flag("a", 1));
        one.Apply(Flag("b", 3));
        two.Apply(Flag("b", 3));
        two.Apply(Flag("a", 1));

        Assert.Equal(one.Current.Version, two.Current.Version);
    }
}
