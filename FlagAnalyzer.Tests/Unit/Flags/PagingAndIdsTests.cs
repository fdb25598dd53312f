using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Unit.Flags;

public sealed class PagingAndIdsTests
{
    [Fact]
    public void Cursor_RoundTripsItsKey()
    {
        var cursor = Paging.Encode("name-ü/?&");
        Assert.True(Paging.TryDecode(cursor, out var key));
        Assert.Equal("name-ü/?&", key);
        Assert.DoesNotContain('/', cursor);
        Assert.DoesNotContain('+', cursor);
    }

    [Fact]
    public void Build_WithOneExtraRow_CutsItAndPointsAtTheLastKept()
    {
        var page = Paging.Build(new List<int> { 1, 2, 3 }, 2, i => i.ToString());

        Assert.Equal([1, 2], page.Items);
        Assert.True(Paging.TryDecode(page.NextCursor, out var key));
        Assert.Equal("2", key);
        Assert.Null(Paging.Build(new List<int> { 1, 2 }, 2, i => i.ToString()).NextCursor);
    }

    [Fact]
    public void Ids_SortByCreationTime_AndAreUnique()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var earlier = Ids.New("flg", clock);
        clock.Now = clock.Now.AddMilliseconds(1);
        var later = Ids.New("flg", clock);
        var many = Enumerable.Range(0, 1000).Select(_ => Ids.New("x", clock)).ToHashSet();

        Assert.StartsWith("flg_", earlier);
        Assert.True(string.CompareOrdinal(earlier, later) < 0);
        Assert.Equal(1000, many.Count);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
