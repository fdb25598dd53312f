using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Flags;

public sealed class FlagDiffTests
{
    private static readonly Flag Base = new() { Id = "flg_1", Name = "f", Enabled = false, RolloutPercentage = 10, Tags = ["a"] };

    [Fact]
    public void Classify_EnablingWins_OverARolloutMoveInTheSameChange()
    {
        Assert.Equal(ChangeType.Enabled, FlagDiff.Classify(Base, Base with { Enabled = true, RolloutPercentage = 50 }));
        Assert.Equal(ChangeType.Disabled, FlagDiff.Classify(Base with { Enabled = true }, Base));
        Assert.Equal(ChangeType.RolloutChanged, FlagDiff.Classify(Base, Base with { RolloutPercentage = 20 }));
        Assert.Equal(ChangeType.Updated, FlagDiff.Classify(Base, Base with { Owner = "x" }));
    }

    [Fact]
    public void Changed_HoldsOnlyTheFieldsThatChanged()
    {
        var (prev, next) = FlagDiff.Changed(Base, Base with { RolloutPercentage = 25, Tags = ["a", "b"] });

        Assert.Equal(["rolloutPercentage", "tags"], next.Select(p => p.Key).Order());
        Assert.Equal(10, prev["rolloutPercentage"]!.GetValue<double>());
        Assert.Equal(25, next["rolloutPercentage"]!.GetValue<double>());
    }

    [Fact]
    public void Changed_IdenticalFlags_IsEmpty()
    {
        var (prev, next) = FlagDiff.Changed(Base, Base with { Tags = ["a"] });
        Assert.Empty(prev);
        Assert.Empty(next);
    }

    [Fact]
    public void Apply_NullFieldsKeepCurrentValues_TagsAreTrimmedAndDeduplicated()
    {
        var after = FlagDiff.Apply(Base, new PatchFlagRequest(null, null, true, null, null, null, [" x", "x", "y "], null, null, null, null));

        Assert.True(after.Enabled);
        Assert.Equal(10, after.RolloutPercentage);
        Assert.Equal(["x", "y"], after.Tags);
    }
}
