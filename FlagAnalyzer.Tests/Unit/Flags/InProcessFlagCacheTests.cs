using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Flags;

/// <summary>The interleavings of a read racing a change, played in order, on the cache used without Redis.</summary>
public sealed class InProcessFlagCacheTests
{
    private static Flag Flag(long version, string name = "ks") => new() { Id = "flg_1", Name = name, Version = version, Enabled = version % 2 == 1 };

    [Fact]
    public async Task FillWithTheVersionADeleteRemoved_DoesNotBringItBack()
    {
        IFlagCache cache = new InProcessFlagCache();
        var readFromSqlite = Flag(3); // a read fetched it just before the delete committed …
        await cache.RemoveAsync(Flag(3)); // … the delete committed and cleared the cache …
        await cache.FillAsync(readFromSqlite); // … then the read filled the cache

        Assert.Null(await cache.GetAsync("flg_1"));
        Assert.Null(await cache.GetAsync("ks"));
    }

    [Fact]
    public async Task FillOlderThanAChange_KeepsTheChange()
    {
        IFlagCache cache = new InProcessFlagCache();
        await cache.SetAsync(Flag(4), "ks");
        await cache.FillAsync(Flag(3));

        Assert.Equal(4, (await cache.GetAsync("ks"))!.Version);
    }

    [Fact]
    public async Task NameOfADeletedFlag_ServesTheNewFlagOfThatName()
    {
        IFlagCache cache = new InProcessFlagCache();
        await cache.RemoveAsync(Flag(2));
        await cache.FillAsync(Flag(2));
        var successor = new Flag { Id = "flg_2", Name = "ks", Version = 1 };
        await cache.SetAsync(successor);

        Assert.Equal("flg_2", (await cache.GetAsync("ks"))!.Id);
    }
}
