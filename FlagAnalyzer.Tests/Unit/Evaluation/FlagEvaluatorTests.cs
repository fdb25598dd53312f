using FlagAnalyzer.Api.Evaluation;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

public sealed class FlagEvaluatorTests
{
    [Fact]
    public void PlainFlag_Enabled_IsOnStatic()
    {
        var r = Flags.Evaluate(Flags.Compile("plain"), new { });
        Assert.Equal((true, "on", EvaluationReason.Static), (r.Value.GetBoolean(), r.Variant, r.Reason));
        Assert.Null(r.ErrorCode);
    }

    [Fact]
    public void Disabled_IsTheOffVariant()
    {
        var r = Flags.Evaluate(Flags.Compile("plain", enabled: false, targeting: """{"if":[true,"on"]}"""), new { targetingKey = "u" });
        Assert.Equal((false, "off", EvaluationReason.Disabled), (r.Value.GetBoolean(), r.Variant, r.Reason));
    }

    [Fact]
    public void Targeting_NamingAVariant_IsATargetingMatch()
    {
        var flag = Flags.Compile("color", """{"if":[{"ends_with":[{"var":"email"},"@corp.com"]},"blue"]}""", Flags.Colors, "red", "red");
        var hit = Flags.Evaluate(flag, new { email = "a@corp.com" });
        var miss = Flags.Evaluate(flag, new { email = "a@else.com" });
        Assert.Equal(("#0000FF", "blue", EvaluationReason.TargetingMatch), (hit.Value.GetString(), hit.Variant, hit.Reason));
        Assert.Equal(("red", EvaluationReason.Default), (miss.Variant, miss.Reason));
    }

    [Fact]
    public void Targeting_ReturningABoolean_NamesTheVariantTrueOrFalse()
    {
        var flag = Flags.Compile("b", """{"==":[{"var":"plan"},"pro"]}""", """{"true":true,"false":false}""", "false", "false");
        Assert.Equal("true", Flags.Evaluate(flag, new { plan = "pro" }).Variant);
        Assert.Equal("false", Flags.Evaluate(flag, new { plan = "free" }).Variant);
    }

    [Fact]
    public void Targeting_ReturningAnUnknownVariant_IsAGeneralError()
    {
        var r = Flags.Evaluate(Flags.Compile("x", """{"var":"pick"}"""), new { pick = "purple" });
        Assert.Equal((EvaluationReason.Error, EvaluationErrorCode.General), (r.Reason, r.ErrorCode));
        Assert.Null(r.Variant);
    }

    [Fact]
    public void Rollout_BelowHundred_IsASplitByTargetingKey()
    {
        var flag = Flags.Compile("checkout", rollout: 30);
        var results = Enumerable.Range(0, 10_000).Select(i => FlagEvaluator.System.Evaluate(flag, EvaluationContext.For($"u{i}"))).ToList();
        Assert.All(results, r => Assert.Equal(EvaluationReason.Split, r.Reason));
        Assert.InRange(results.Count(r => r.Variant == "on") / 10_000.0, 0.28, 0.32);
        Assert.Equal(FlagEvaluator.System.Evaluate(flag, EvaluationContext.For("u7")).Variant,
            FlagEvaluator.System.Evaluate(flag, EvaluationContext.For("u7")).Variant);
    }

    [Fact]
    public void Rollout_WithoutTargetingKey_IsTargetingKeyMissing()
    {
        var r = Flags.Evaluate(Flags.Compile("checkout", rollout: 30), new { email = "x" });
        Assert.Equal(EvaluationErrorCode.TargetingKeyMissing, r.ErrorCode);
    }

    [Fact]
    public void Rollout_AtZero_ServesOffWithoutNeedingAKey()
    {
        var r = Flags.Evaluate(Flags.Compile("checkout", rollout: 0), new { });
        Assert.Equal(("off", EvaluationReason.Split), (r.Variant, r.Reason));
    }

    [Fact]
    public void TargetingMatch_WinsOverTheRollout()
    {
        var flag = Flags.Compile("beta", """{"if":[{"in":[{"var":"email"},["vip@x.com"]]},"on"]}""", rollout: 0);
        Assert.Equal(("on", EvaluationReason.TargetingMatch), (Flags.Evaluate(flag, new { email = "vip@x.com" }) is var r ? (r.Variant, r.Reason) : default));
    }

    [Fact]
    public void ObjectAndNumberVariants_AreServedAsJson()
    {
        var obj = Flags.Evaluate(Flags.Compile("cfg", variants: """{"small":{"size":1},"big":{"size":9}}""", defaultVariant: "big", offVariant: "small"), new { });
        Assert.Equal(9, obj.Value.GetProperty("size").GetInt32());
        var num = Flags.Evaluate(Flags.Compile("n", variants: """{"low":0.5,"high":2}""", defaultVariant: "high", offVariant: "low"), new { });
        Assert.Equal(2, num.Value.GetDouble());
    }

    [Fact]
    public void StaticPath_AllocatesNothing()
    {
        var flag = Flags.Compile("plain");
        var ctx = EvaluationContext.For("u1");
        FlagEvaluator.System.Evaluate(flag, ctx);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) FlagEvaluator.System.Evaluate(flag, ctx);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("""{"a":true,"b":"x"}""", null, null, "variants.b")]
    [InlineData("""[1,2]""", null, null, "variants")]
    [InlineData("""{"a":true,"b":false}""", null, null, "defaultVariant")]
    [InlineData("""{"on":true,"b":false}""", null, null, "offVariant")]
    [InlineData(null, "missing", null, "defaultVariant")]
    [InlineData(null, null, """{"fractional":[["on",1],["of",1]]}""", "targeting.fractional[1][0]")]
    [InlineData(null, null, """{"if":[{"bogus":1},"on"]}""", "targeting.if[0].bogus")]
    public void Compile_BadDefinition_NamesThePath(string? variants, string? defaultVariant, string? targeting, string path)
    {
        Assert.False(FlagCompiler.TryCompile(new FlagDefinition
        {
            Key = "k",
            Enabled = true,
            Variants = variants is null ? null : Flags.Json(variants),
            DefaultVariant = defaultVariant,
            Targeting = targeting is null ? null : Flags.Json(targeting),
        }, out _, out var errors));
        Assert.Contains(path, errors.Select(e => e.Path));
    }
}
