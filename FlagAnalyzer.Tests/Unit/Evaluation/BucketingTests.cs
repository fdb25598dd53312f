using System.Text;
using FlagAnalyzer.Api.Evaluation;

namespace FlagAnalyzer.Tests.Unit.Evaluation;

public sealed class BucketingTests
{
    // MurmurHash3 x86_32 reference values (seed 0) from the algorithm's public test vectors
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("hello", 0x248bfa47u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x2e4ff723u)]
    public void Murmur3_KnownVectors(string text, uint expected)
    {
        Assert.Equal(expected, Murmur3.Hash32(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(expected, Murmur3.Hash32(text));
    }

    [Fact]
    public void Murmur3_OfTwoParts_IsTheHashOfTheirConcatenation()
    {
        Assert.Equal(Murmur3.Hash32("headerColorrachel@faas.com"), Murmur3.Hash32("headerColor", "rachel@faas.com"));
        var longKey = new string('k', 700) + "é";
        Assert.Equal(Murmur3.Hash32(Encoding.UTF8.GetBytes("flag" + longKey)), Murmur3.Hash32("flag", longKey));
    }

    [Theory]
    [InlineData(0u, 100u, 0u)]
    [InlineData(uint.MaxValue, 100u, 99u)]
    [InlineData(0x80000000u, 100u, 50u)]
    public void Bucket_ScalesTheHashIntoTheWeightRange(uint hash, uint total, uint expected) =>
        Assert.Equal(expected, Bucketing.Bucket(hash, total));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.01, 1)]
    [InlineData(12.345, 1235)]
    [InlineData(50, 5000)]
    [InlineData(100, 10000)]
    public void RolloutThreshold_HasStepsOfOneHundredthOfAPercent(double percentage, int buckets) =>
        Assert.Equal(buckets, Bucketing.RolloutThreshold(percentage));

    [Fact]
    public void Rollout_RaisingThePercentage_OnlyAddsKeys()
    {
        var keys = Enumerable.Range(0, 5000).Select(i => $"user-{i}").ToArray();
        var previous = new HashSet<string>();
        foreach (var pct in new[] { 0.01, 0.5, 1, 5, 25, 50, 99.99, 100 })
        {
            var threshold = Bucketing.RolloutThreshold(pct);
            var inside = keys.Where(k => Bucketing.InRollout("checkout", k, threshold)).ToHashSet();
            Assert.Subset(inside, previous);
            previous = inside;
        }
        Assert.Equal(keys.Length, previous.Count);
    }

    [Fact]
    public void Rollout_OfTenPercent_ServesTenPercentOfKeys_WithinOnePercent()
    {
        var threshold = Bucketing.RolloutThreshold(10);
        var n = Enumerable.Range(0, 100_000).Count(i => Bucketing.InRollout("new-search", $"user-{i}", threshold));
        Assert.InRange(n / 100_000.0, 0.09, 0.11);
    }
}
