using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Rollouts;

namespace FlagAnalyzer.Tests.Unit.Rollouts;

public sealed class RolloutNudgesTests
{
    [Fact]
    public async Task MetricsNudge_WakesTheGuardianForTheFlagsThatGotMetricsOnly()
    {
        var nudges = new RolloutNudges();
        await nudges.DeliverAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new object(), "flg_a"), default);
        await nudges.DeliverAsync(new LiveEvent(LiveEventTypes.FlagUpdated, new object(), "flg_c"), default);
        await nudges.DeliverAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new object(), "flg_b"), default);
        await nudges.DeliverAsync(new LiveEvent(LiveEventTypes.MetricsRecorded, new object(), "flg_a"), default);

        Assert.True(nudges.Reader.TryPeek(out _));
        Assert.Equal(["flg_a", "flg_b"], nudges.Drain().Order());
        Assert.False(nudges.Reader.TryPeek(out _));
        Assert.Empty(nudges.Drain());
    }

    [Fact]
    public async Task ACommittedFlagChange_FromTheChangeFeed_WakesTheGuardianForThatFlag()
    {
        var nudges = new RolloutNudges();
        var flag = new Flag { Id = "flg_fed", Name = "fed" };
        var change = new FlagChange { Id = "chg_1", FlagId = flag.Id, FlagName = flag.Name, ChangeType = ChangeType.Disabled };
        await ((IChangeFeedSubscriber)nudges).OnChangeAsync(new FeedEntry(7, change, flag, Deleted: false), default);

        Assert.True(nudges.Reader.TryPeek(out _));
        Assert.Equal(["flg_fed"], nudges.Drain());
    }
}
