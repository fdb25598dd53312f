using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>
/// The snapshot as the one flag cache (it replaced the in-process and Redis caches): it only moves forward, whatever order
/// a replica's own commit and the feed's entries arrive in, and a deleted flag never comes back.
/// </summary>
public sealed class FlagSnapshotCacheTests
{
    private static FlagSnapshotStore Store() => new(new Db("Data Source=:memory:"), NullLogger<FlagSnapshotStore>.Instance);

    private static Flag Flag(long version, string name = "ks", string id = "flg_1") =>
        new() { Id = id, Name = name, Key = name, Version = version, Enabled = version % 2 == 1 };

    private static FeedEntry Changed(long revision, Flag flag) => new(revision, Change(flag, ChangeType.Updated), flag, false);

    private static FeedEntry Deleted(long revision, Flag flag) => new(revision, Change(flag, ChangeType.Deleted), flag, true);

    private static FlagChange Change(Flag f, ChangeType type) => new() { Id = $"chg_{f.Version}", FlagId = f.Id, FlagName = f.Name, ChangeType = type };

    [Fact]
    public void AnEntryOfAVersionADeleteRemoved_ArrivingAfterTheDelete_DoesNotBringItBack()
    {
        var cache = Store();
        cache.Apply(Changed(1, Flag(3)));
        cache.Apply(Deleted(2, Flag(3)));   // the delete committed here …
        cache.Apply(Changed(1, Flag(3)));   // … then the older change arrives again (at least once)

        Assert.Null(cache.Find("flg_1"));
        Assert.Null(cache.Find("ks"));
        Assert.Null(cache.FindByKey("ks"));
        Assert.False(cache.Current.TryGet("ks", out _));
    }

    [Fact]
    public void AnOlderVersion_ArrivingAfterANewerOne_KeepsTheNewer()
    {
        var cache = Store();
        cache.Apply(Changed(5, Flag(4)));
        cache.Apply(Changed(4, Flag(3)));

        Assert.Equal(4, cache.Find("ks")!.Version);
        Assert.Equal(4, cache.FindByKey("ks")!.Version);
    }

    [Fact]
    public void TheNameOfADeletedFlag_ServesTheNewFlagOfThatName()
    {
        var cache = Store();
        cache.Apply(Changed(1, Flag(2)));
        cache.Apply(Deleted(2, Flag(2)));
        cache.Apply(Changed(1, Flag(2)));
        cache.Apply(Changed(3, new Flag { Id = "flg_2", Name = "ks", Key = "ks", Version = 1 }));

        Assert.Equal("flg_2", cache.Find("ks")!.Id);
        Assert.Equal("flg_2", cache.FindByKey("ks")!.Id);
    }

    [Fact]
    public void ARenamedFlag_IsFoundByItsNewNameOnly()
    {
        var cache = Store();
        cache.Apply(Changed(1, Flag(1, "old")));
        cache.Apply(Changed(2, Flag(2, "new")));

        Assert.Null(cache.Find("old"));
        Assert.Equal("flg_1", cache.Find("new")!.Id);
    }
}
