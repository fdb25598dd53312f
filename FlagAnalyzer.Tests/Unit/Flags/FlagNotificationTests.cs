using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Unit.Flags;

/// <summary>The payload PostgreSQL's flag notifications carry (written by FlagStore's SQL, read by each replica's listener).</summary>
public sealed class FlagNotificationTests
{
    [Fact]
    public void Parse_AWrite_IsTheFlagAndItsVersion() =>
        Assert.Equal(new FlagNotification("flg_1", 7, false), FlagNotification.Parse("flg_1|7"));

    [Fact]
    public void Parse_ADelete_IsTheFlagItsLastVersionAndName() =>
        Assert.Equal(new FlagNotification("flg_1", 3, true, "checkout-v2"), FlagNotification.Parse("flg_1|3|deleted|checkout-v2"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("flg_1")]
    [InlineData("|4")]
    [InlineData("flg_1|x")]
    [InlineData("flg_1|-1")]
    [InlineData("flg_1|3|renamed|x")]
    [InlineData("flg_1|3|deleted")]
    public void Parse_AnythingElse_IsNull(string? payload) => Assert.Null(FlagNotification.Parse(payload));
}
