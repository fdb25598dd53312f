namespace FlagAnalyzer.Api.Evaluation;

/// <summary>
/// flagd's bucketing, shared by <c>fractional</c> and the percentage rollout: murmur3 (x86, 32-bit, seed 0) of
/// the bucketing value's UTF-8 bytes, scaled to <c>[0, totalWeight)</c> as <c>(hash × totalWeight) &gt;&gt; 32</c>.
/// The scaling is monotone in the hash, so for a fixed key a larger share only ever adds keys.
/// </summary>
public static class Bucketing
{
    /// <summary>Rollout percentages are served in steps of 0.01 %: 10 000 buckets.</summary>
    public const int RolloutBuckets = 10_000;

    public static uint Bucket(uint hash, uint totalWeight) => (uint)(((ulong)hash * totalWeight) >> 32);

    /// <summary>The index of the first weight whose running total exceeds the bucket, or -1 when the weights sum to 0.</summary>
    public static int Pick(uint hash, ReadOnlySpan<int> weights, uint totalWeight)
    {
        if (totalWeight == 0) return -1;
        var bucket = Bucket(hash, totalWeight);
        ulong end = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            end += (ulong)weights[i];
            if (bucket < end) return i;
        }
        return -1;
    }

    /// <summary>A percentage (0–100, any precision) as a count of the 10 000 rollout buckets, rounded to 0.01 %.</summary>
    public static int RolloutThreshold(double percentage) =>
        (int)Math.Clamp(Math.Round(percentage * (RolloutBuckets / 100.0), MidpointRounding.AwayFromZero), 0, RolloutBuckets);

    /// <summary>Whether the key (<c>flagKey + targetingKey</c>) falls inside a rollout of <paramref name="threshold"/> buckets.</summary>
    public static bool InRollout(string flagKey, string targetingKey, int threshold) =>
        Bucket(Murmur3.Hash32(flagKey, targetingKey), RolloutBuckets) < (uint)threshold;
}
