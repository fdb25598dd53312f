using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Flags;

public sealed class FlagRulesTests
{
    private static CreateFlagRequest Create(string? name = "ok", double? rollout = null, string? env = null, List<string>? tags = null,
        string? description = null) =>
        new(name, description, null, rollout, env, null, tags, null, null, null, null);

    [Theory]
    [InlineData("new-checkout-flow")]
    [InlineData("a")]
    [InlineData("v2.search_ranking-b")]
    [InlineData("0")]
    public void Name_InAlphabet_IsValid(string name) => Assert.True(FlagRules.Validate(Create(name)).IsValid);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Checkout")]
    [InlineData("check out")]
    [InlineData("flag/1")]
    [InlineData("ünïcode")]
    [InlineData("changes")]
    public void Name_OutsideAlphabet_IsInvalid(string? name)
    {
        var v = FlagRules.Validate(Create(name));
        Assert.Equal(["name"], v.Errors.Keys);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(100, true)]
    [InlineData(12.5, true)]
    [InlineData(-0.01, false)]
    [InlineData(100.01, false)]
    [InlineData(double.NaN, false)]
    public void Rollout_MustBeAPercentage(double rollout, bool valid) =>
        Assert.Equal(valid, FlagRules.Validate(Create(rollout: rollout)).IsValid);

    [Theory]
    [InlineData("production", true)]
    [InlineData("eu-west.canary", true)]
    [InlineData("", false)]
    [InlineData("Prod", false)]
    public void Environment_IsKnownOrACustomName(string env, bool valid) =>
        Assert.Equal(valid, FlagRules.Validate(Create(env: env)).IsValid);

    [Fact]
    public void Tags_TooManyOrBlank_NameTheOffender()
    {
        var tooMany = FlagRules.Validate(Create(tags: Enumerable.Range(0, 21).Select(i => $"t{i}").ToList()));
        var blank = FlagRules.Validate(Create(tags: ["ok", " "]));

        Assert.Equal(["tags"], tooMany.Errors.Keys);
        Assert.Equal(["tags[1]"], blank.Errors.Keys);
    }

    [Fact]
    public void Description_OverLimit_IsInvalid() =>
        Assert.Equal(["description"], FlagRules.Validate(Create(description: new string('d', FlagRules.MaxDescriptionLength + 1))).Errors.Keys);

    [Fact]
    public void Patch_WithNoFields_IsValid() =>
        Assert.True(FlagRules.Validate(new PatchFlagRequest(null, null, null, null, null, null, null, null, null, null, null)).IsValid);

    [Fact]
    public void RecordChange_NewValueFields_AreValidatedWithTheirPath()
    {
        var nv = System.Text.Json.JsonDocument.Parse("""{"rolloutPercentage": 140, "name": "Bad Name"}""").RootElement;
        var v = FlagRules.Validate(new RecordChangeRequest("flg_1", null, "rollout_changed", null, nv, null, null), out _);

        Assert.Equal(["newValue.name", "newValue.rolloutPercentage"], v.Errors.Keys.Order());
    }
}
