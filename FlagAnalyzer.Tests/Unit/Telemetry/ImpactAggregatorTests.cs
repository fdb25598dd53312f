using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Telemetry;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

public sealed class ImpactAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ResolvedObservation Obs(string flag, string variant, DateTimeOffset at, double ms, bool error = false) =>
        new(flag, variant == "off" ? Cohort.Control : Cohort.Treatment, new FlagObservation(flag, variant, at, (long)(ms * 1000), error));

    [Fact]
    public void OneSamplePerFlagVariantAndInterval_WithCountsErrorsAndPercentiles()
    {
        var agg = new ImpactAggregator(TimeSpan.FromMinutes(1), 100);
        var obs = Enumerable.Range(1, 100).Select(i => Obs("f1", "on", T0.AddSeconds(i % 60), ms: i, error: i % 10 == 0))
            .Append(Obs("f1", "off", T0.AddSeconds(5), 7))
            .Append(Obs("f1", "on", T0.AddMinutes(1).AddSeconds(1), 9))
            .ToList();

        Assert.True(agg.TryAdd(obs));
        var samples = agg.Take(null).Select(b => b.ToSample()).OrderBy(s => s.IntervalStart).ThenBy(s => s.Variant).ToList();

        Assert.Equal(3, samples.Count);
        var on = samples.Single(s => s.Variant == "on" && s.IntervalStart == T0);
        Assert.Equal(("f1", "treatment", 100L, 10L, 10.0), (on.FlagId, on.Cohort.ToWire(), on.RequestCount, on.Errors, on.ErrorRate));
        Assert.InRange(on.LatencyP50, 50 * 0.99, 50 * 1.01);  // 2 significant digits: within 1 %
        Assert.InRange(on.LatencyP99, 99 * 0.99, 99 * 1.01);
        Assert.Equal(T0.AddSeconds(59), on.Timestamp);          // stamped with its newest request
        Assert.Equal("control", samples.Single(s => s.Variant == "off").Cohort.ToWire());
        Assert.Equal(T0.AddMinutes(1), samples.Single(s => s.IntervalStart > T0).IntervalStart);
        Assert.Equal(0, agg.BucketCount);
    }

    [Fact]
    public void Take_ReturnsOnlyClosedIntervals()
    {
        var agg = new ImpactAggregator(TimeSpan.FromMinutes(1), 100);
        agg.TryAdd([Obs("f", "on", T0.AddSeconds(10), 5), Obs("f", "on", T0.AddSeconds(70), 5)]);

        Assert.Empty(agg.Take(T0.AddSeconds(59)));
        Assert.Equal(T0, Assert.Single(agg.Take(T0.AddSeconds(60))).ToSample().IntervalStart);
        Assert.Equal(1, agg.BucketCount);
    }

    [Fact]
    public void OverTheBucketCap_NothingOfTheBatchIsCounted()
    {
        var agg = new ImpactAggregator(TimeSpan.FromMinutes(1), 2);
        Assert.True(agg.TryAdd([Obs("f", "on", T0, 5)]));

        Assert.False(agg.TryAdd([Obs("f", "on", T0, 5), Obs("f", "off", T0, 5), Obs("g", "on", T0, 5)]));
        Assert.True(agg.TryAdd([Obs("f", "on", T0, 5), Obs("f", "off", T0, 5)])); // exactly at the cap

        var samples = agg.Take(null).Select(b => b.ToSample()).ToList();
        Assert.Equal(2, samples.Single(s => s.Variant == "on").RequestCount);
    }

    [Fact]
    public void ReturnedBuckets_MergeWithNewOnes()
    {
        var agg = new ImpactAggregator(TimeSpan.FromMinutes(1), 10);
        agg.TryAdd([Obs("f", "on", T0, 10, error: true)]);
        var taken = agg.Take(null);
        agg.TryAdd([Obs("f", "on", T0.AddSeconds(1), 30)]);

        agg.Return(taken);

        var s = Assert.Single(agg.Take(null)).ToSample();
        Assert.Equal((2L, 1L), (s.RequestCount, s.Errors));
        Assert.InRange(s.LatencyP99, 29.7, 30.3);
    }

    [Fact]
    public void LatencyBeyondAnHour_IsClamped_NotThrown()
    {
        var agg = new ImpactAggregator(TimeSpan.FromMinutes(1), 10);
        Assert.True(agg.TryAdd([Obs("f", "on", T0, 10 * 3_600_000)]));
        Assert.InRange(Assert.Single(agg.Take(null)).ToSample().LatencyP50, 3_500_000, 3_700_000);
    }
}
