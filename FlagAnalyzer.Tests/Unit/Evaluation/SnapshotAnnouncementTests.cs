using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>Which messages on the flag cache's channel make a replica reload its evaluation snapshot.</summary>
public sealed class SnapshotAnnouncementTests
{
    private static bool HoldsVersion3(string flagId, long version) => flagId == "flg_a" && version <= 3;

    [Fact]
    public void ChangesNotYetHeld_Reload_ChangesAlreadyApplied_DoNot()
    {
        Assert.True(SnapshotRefresher.NeedsReload("replica-2|flg_a|4|checkout", HoldsVersion3));
        Assert.True(SnapshotRefresher.NeedsReload("replica-2|flg_b|1|search", HoldsVersion3));
        Assert.False(SnapshotRefresher.NeedsReload("replica-1|flg_a|3|checkout", HoldsVersion3));
    }

    [Fact]
    public void TheCachesHeartbeats_NeverReload()
    {
        // every replica sends one several times a second: a reload each would read every flag from the database each time
        Assert.False(SnapshotRefresher.NeedsReload($"{RedisFlagCache.HeartbeatTag}|replica-2|638712345678", HoldsVersion3));
    }
}
