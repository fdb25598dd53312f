using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Anomalies;

public sealed class ChangeTextTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 15, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ARolloutMove_SaysFromWhereToWhereAndWhen() =>
        Assert.Equal("rollout 10% → 25% at 14:02 UTC", ChangeText.Describe(ChangeType.RolloutChanged, Now.AddMinutes(-58), 10, 25, Now));

    [Fact]
    public void AChangeOnAnEarlierDay_GivesTheDate() =>
        Assert.Equal("enabling at 5% at 2026-02-28 14:02 UTC", ChangeText.Describe(ChangeType.Enabled, Now.AddDays(-1).AddMinutes(-58), null, 5, Now));

    [Fact]
    public void AnUpdateThatMovedTheRollout_SaysSo() =>
        Assert.Equal("update (rollout 0% → 25%) at 14:02 UTC", ChangeText.Describe(ChangeType.Updated, Now.AddMinutes(-58), 0, 25, Now));

    [Fact]
    public void AChangeAtAnOffset_IsGivenInUtc() =>
        Assert.Equal("rollback at 14:02 UTC", ChangeText.Describe(ChangeType.RolledBack, new DateTimeOffset(2026, 3, 1, 16, 2, 0, TimeSpan.FromHours(2)), null, null, Now));
}
