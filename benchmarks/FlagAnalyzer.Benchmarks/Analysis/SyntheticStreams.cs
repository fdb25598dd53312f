using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Benchmarks.Analysis;

/// <summary>What a synthetic flag's metrics look like before and after its change.</summary>
public sealed record StreamSpec(
    string Name,
    int RequestsPerSample,
    double ErrorFactor = 1,
    double P50Factor = 1,
    double P99Factor = 1,
    double ConversionFactor = 1,
    /// <summary>The metric a detector should flag, or null for a noise-only stream.</summary>
    string? Expected = null);

/// <summary>
/// Seeded metric streams: <see cref="BaselineSamples"/> samples before a change, then <see cref="AfterSamples"/>
/// after it, with binomial error and conversion counts and multiplicative latency noise.
/// </summary>
public static class SyntheticStreams
{
    public const int BaselineSamples = 30;
    public const int AfterSamples = 30;
    public const double ErrorRate = 0.01;
    public const double ConversionRate = 0.05;
    public const double P50 = 120;
    public const double P99 = 480;
    public static readonly DateTimeOffset ChangeAt = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static List<MetricSample> Generate(StreamSpec spec, int seed)
    {
        var rng = new Random(seed);
        var samples = new List<MetricSample>(BaselineSamples + AfterSamples);
        for (var i = -BaselineSamples; i < AfterSamples; i++)
        {
            var after = i >= 0;
            // traffic varies ±20 % from sample to sample
            var n = Math.Max(1, (int)Math.Round(spec.RequestsPerSample * (0.8 + 0.4 * rng.NextDouble())));
            var errors = Binomial(rng, n, Math.Min(1, ErrorRate * (after ? spec.ErrorFactor : 1)));
            var conversions = Binomial(rng, n, Math.Min(1, ConversionRate * (after ? spec.ConversionFactor : 1)));
            // percentiles of fewer requests are noisier
            var spread = 0.04 + 0.5 / Math.Sqrt(n);
            var p50 = P50 * (after ? spec.P50Factor : 1) * Math.Exp(spread * Gaussian(rng));
            var p99 = Math.Max(p50, P99 * (after ? spec.P99Factor : 1) * Math.Exp(1.5 * spread * Gaussian(rng)));
            samples.Add(new MetricSample
            {
                Id = samples.Count + 1,
                FlagId = "bench",
                Timestamp = ChangeAt.AddMinutes(i),
                ErrorRate = 100.0 * errors / n,
                LatencyP50 = p50,
                LatencyP99 = p99,
                RequestCount = n,
                ConversionRate = 100.0 * conversions / n,
                UserSatisfactionScore = Math.Clamp(4.2 + 0.1 * Gaussian(rng), 0, 5),
            });
        }
        return samples;
    }

    internal static double Gaussian(Random rng)
    {
        var u1 = 1 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Exact inversion for small means, a rounded normal approximation when n·p·(1−p) is large.</summary>
    internal static int Binomial(Random rng, int n, double p)
    {
        if (p <= 0) return 0;
        if (p >= 1) return n;
        var mean = n * p;
        var variance = mean * (1 - p);
        if (variance > 25) return (int)Math.Clamp(Math.Round(mean + Math.Sqrt(variance) * Gaussian(rng)), 0, n);
        var u = rng.NextDouble();
        var pmf = Math.Pow(1 - p, n);
        var cdf = pmf;
        var k = 0;
        while (u > cdf && k < n)
        {
            pmf *= (double)(n - k) / (k + 1) * p / (1 - p);
            cdf += pmf;
            k++;
        }
        return k;
    }
}
