using FlagAnalyzer.Api.Evaluation;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

/// <summary>
/// flagd's published vectors for <c>fractional</c>, pinned verbatim: open-feature/flagd,
/// core/pkg/evaluator/fractional_test.go (TestFractionalEvaluation,
/// commit bbb05d4bc3903ea8bf5123a88b1cf558750a22ab).
/// </summary>
public sealed class FractionalTests
{
    private const string FourColors = """["red",25],["blue",25],["green",25],["yellow",25]""";

    private static string OnlyFaas(string bucketBy) =>
        $$"""{"if":[{"in":["@faas.com",{"var":["email"]}]},{"fractional":[{{bucketBy}},{{FourColors}}]},null]}""";

    private static CompiledFlag Flag(string key, string targeting) =>
        Flags.Compile(key, targeting, Flags.Colors, defaultVariant: "red", offVariant: "red");

    [Theory]
    [InlineData("rachel@faas.com", "blue")]
    [InlineData("monica@faas.com", "yellow")]
    [InlineData("joey@faas.com", "red")]
    [InlineData("ross@faas.com", "blue")]
    public void HeaderColor_FlagKeyPlusEmail(string email, string variant)
    {
        var r = Flags.Evaluate(Flag("headerColor", OnlyFaas("""{"cat":[{"var":"$flagd.flagKey"},{"var":"email"}]}""")), new { email });

        Assert.Equal((variant, EvaluationReason.TargetingMatch), (r.Variant, r.Reason));
    }

    [Theory]
    [InlineData("rachel@faas.com", "green")]
    [InlineData("monica@faas.com", "red")]
    [InlineData("joey@faas.com", "blue")]
    [InlineData("ross@faas.com", "green")]
    public void CustomSeededHeaderColor_MySeedPlusEmail(string email, string variant)
    {
        var r = Flags.Evaluate(Flag("customSeededHeaderColor", OnlyFaas("""{"cat":["my-seed",{"var":"email"}]}""")), new { email });

        Assert.Equal(variant, r.Variant);
    }

    [Fact]
    public void FooterColor_EmailAlone_RossIsRed() =>
        Assert.Equal("red", Flags.Evaluate(Flag("footerColor", OnlyFaas("""{"var":"email"}""")), new { email = "ross@faas.com" }).Variant);

    [Fact]
    public void NonEvenSplit_LiteralBucketingValue_IsGreen() =>
        Assert.Equal("green", Flags.Evaluate(
            Flag("headerColor", """{"if":[{"in":["@faas.com",{"var":["email"]}]},{"fractional":["email",["red",50],["blue",25],["green",25]]},null]}"""),
            new { email = "test4@faas.com" }).Variant);

    [Fact]
    public void NonPercentageWeights_FooIsBlue() =>
        Assert.Equal("blue", Flags.Evaluate(Flag("headerColor", """{"fractional":[{"var":"email"},["red",25],["blue",25]]}"""),
            new { email = "foo@foo.com" }).Variant);

    [Fact]
    public void UnspecifiedWeights_CountOne_FooIsBlue() =>
        Assert.Equal("blue", Flags.Evaluate(Flag("headerColor", """{"fractional":[{"var":"email"},["red"],["blue"]]}"""),
            new { email = "foo@foo.com" }).Variant);

    [Fact]
    public void NoBucketingValue_DefaultsToTargetingKey_FooIsGreen() =>
        Assert.Equal("green", Flags.Evaluate(Flag("headerColor", """{"fractional":[["blue",50],["green",50]]}"""),
            new { targetingKey = "foo@foo.com" }).Variant);

    [Fact]
    public void MissingBucketingVariable_FallsBackToTargetingKey_FooIsBlue() =>
        Assert.Equal("blue", Flags.Evaluate(Flag("headerColor", """{"fractional":[{"var":"email"},["red",50],["blue",50]]}"""),
            new { targetingKey = "foo@foo.com" }).Variant);

    [Fact]
    public void NoEmailAndNoTargetingKey_IsTheDefaultVariant()
    {
        var r = Flags.Evaluate(Flag("headerColor", $$"""{"fractional":[{"var":"email"},{{FourColors}}]}"""), new { });
        Assert.Equal(("red", EvaluationReason.Default), (r.Variant, r.Reason));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NullOrEmptyTargetingKey_IsTheDefaultVariant(string? key)
    {
        var r = Flags.Evaluate(Flag("headerColor", """{"fractional":[["blue",50],["green",50]]}"""), new { targetingKey = key });
        Assert.Equal(("red", EvaluationReason.Default), (r.Variant, r.Reason));
    }

    [Fact]
    public void TargetingThatIsOnlyASplit_IsReasonSplit()
    {
        var r = Flags.Evaluate(Flag("headerColor", """{"fractional":[["blue",50],["green",50]]}"""), new { targetingKey = "foo@foo.com" });
        Assert.Equal(("green", EvaluationReason.Split), (r.Variant, r.Reason));
    }

    [Theory]
    [InlineData("""{"fractional":[["blue",1]]}""", "blue")]
    [InlineData("""{"fractional":[["yellow"]]}""", "yellow")]
    public void SingleEntry_AlwaysThatVariant(string targeting, string variant) =>
        Assert.Equal(variant, Flags.Evaluate(Flag("headerColor", targeting), new { targetingKey = "any-user" }).Variant);

    [Fact]
    public void Distribution_FourWaysAt100kKeys_EachWithinOnePercent()
    {
        var flag = Flag("headerColor", $$"""{"fractional":[{{FourColors}}]}""");
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 100_000; i++)
        {
            var v = FlagEvaluator.System.Evaluate(flag, EvaluationContext.For($"user-{i}@example.com")).Variant!;
            counts[v] = counts.GetValueOrDefault(v) + 1;
        }
        Assert.Equal(4, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c / 100_000.0, 0.24, 0.26));
    }

    [Fact]
    public void SameKey_SameVariant_AcrossCompilations()
    {
        var a = Flags.Evaluate(Flag("headerColor", $$"""{"fractional":[{{FourColors}}]}"""), new { targetingKey = "u-1" });
        var b = Flags.Evaluate(Flag("headerColor", $$"""{"fractional":[{{FourColors}}]}"""), new { targetingKey = "u-1" });
        Assert.Equal(a.Variant, b.Variant);
    }
}
