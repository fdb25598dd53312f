using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Metrics;

namespace FlagAnalyzer.Tests.Unit.Statistics;

public sealed class WindowStatsTests
{
    [Fact]
    public void SortedMoments_StaySortedWhetherValuesArriveOneByOneOrInBulk()
    {
        var m = new SortedMoments();
        var rng = new Random(7);
        var all = new List<double>();
        foreach (var batch in new[] { 1, 3, 100, 2, 40, 1 })
        {
            for (var i = 0; i < batch; i++)
            {
                var x = Math.Round(rng.NextDouble() * 100, 1);
                all.Add(x);
                m.Add(x);
            }
            Assert.Equal(all.Order(), m.Sorted.ToArray());
        }
        Assert.Equal(all.Average(), m.Mean, 1e-9);
        // sample variance, n − 1 in the denominator
        Assert.Equal(all.Sum(x => (x - all.Average()) * (x - all.Average())) / (all.Count - 1), m.Variance, 1e-9);
    }

    [Fact]
    public void ErrorCounts_AreRateTimesRequests()
    {
        var w = new WindowStats();
        w.Add(new MetricSample { FlagId = "f", ErrorRate = 2, RequestCount = 1000 });
        w.Add(new MetricSample { FlagId = "f", ErrorRate = 1, RequestCount = 3000 });
        w.Add(new MetricSample { FlagId = "f", ErrorRate = 50, RequestCount = 0 }); // no traffic, no evidence

        Assert.Equal(2, w.Samples);
        Assert.Equal(4000, w.Requests);
        Assert.Equal(50, w.Errors, 1e-9); // 20 + 30
        Assert.Equal(0.0125, w.ErrorRate, 1e-12);
    }

    [Fact]
    public void Dispersion_IsOneForSteadyRatesAndLargeForBurstyOnes()
    {
        var steady = new WindowStats();
        var bursty = new WindowStats();
        for (var i = 0; i < 20; i++)
        {
            steady.Add(new MetricSample { FlagId = "f", ErrorRate = 1, RequestCount = 1000 });
            // 0 % and 2 % alternating at 1,000 requests: Σ n (r − p)² / (p (1 − p)) / (k − 1) = 20·1000·0.0001 / 0.0099 / 19 ≈ 10.6
            bursty.Add(new MetricSample { FlagId = "f", ErrorRate = i % 2 == 0 ? 0 : 2, RequestCount = 1000 });
        }

        Assert.Equal(1, steady.ErrorDispersion);
        Assert.Equal(20 * 1000 * 0.0001 / 0.0099 / 19, bursty.ErrorDispersion, 1e-9);
    }
}
