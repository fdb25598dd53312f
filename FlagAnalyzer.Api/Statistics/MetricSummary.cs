using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>Averages of a set of samples; error rate and conversion are weighted by request count.</summary>
public sealed record MetricAverages(int Samples, long Requests, double ErrorRate, double LatencyP50, double LatencyP99,
    double? ConversionRate, double? UserSatisfactionScore);

/// <summary>What the numbers did across the latest change: relative change in percent (null without a baseline).</summary>
public sealed record BeforeAfter(DateTimeOffset ChangedAt, MetricAverages? Before, MetricAverages? After,
    double? ErrorRateChangePercent, double? LatencyP50ChangePercent);

/// <summary>A small, model- and human-readable summary of a flag's recent metrics.</summary>
public sealed record MetricSummary(
    string FlagId,
    DateTimeOffset? From,
    DateTimeOffset? To,
    MetricAverages? Overall,
    /// <summary>By cohort word (<c>treatment</c>, <c>control</c>).</summary>
    IReadOnlyDictionary<string, MetricAverages> ByCohort,
    BeforeAfter? AroundLatestChange)
{
    /// <summary>Pure: samples in (any order), summary out. <paramref name="changedAt"/> splits before/after.</summary>
    public static MetricSummary Summarise(string flagId, IReadOnlyList<MetricSample> samples, DateTimeOffset? changedAt)
    {
        var byCohort = samples.Where(s => s.Cohort is not null).GroupBy(s => s.Cohort!.Value.ToWire())
            .ToDictionary(g => g.Key, g => Average(g.ToList())!);
        BeforeAfter? around = null;
        if (changedAt is { } at)
        {
            var before = Average(samples.Where(s => s.Timestamp < at).ToList());
            var after = Average(samples.Where(s => s.Timestamp >= at).ToList());
            around = new BeforeAfter(at, before, after,
                Relative(before?.ErrorRate, after?.ErrorRate), Relative(before?.LatencyP50, after?.LatencyP50));
        }
        return new MetricSummary(flagId,
            samples.Count > 0 ? samples.Min(s => s.Timestamp) : null,
            samples.Count > 0 ? samples.Max(s => s.Timestamp) : null,
            Average(samples), byCohort, around);
    }

    public static MetricAverages? Average(IReadOnlyList<MetricSample> s)
    {
        if (s.Count == 0) return null;
        var requests = s.Sum(x => x.RequestCount);
        double Weighted(Func<MetricSample, double> f, IEnumerable<MetricSample> xs)
        {
            var list = xs.ToList();
            var w = list.Sum(x => x.RequestCount);
            return w > 0 ? list.Sum(x => f(x) * x.RequestCount) / w : list.Average(f);
        }
        var withConversion = s.Where(x => x.ConversionRate is not null).ToList();
        var withSatisfaction = s.Where(x => x.UserSatisfactionScore is not null).ToList();
        return new MetricAverages(s.Count, requests,
            Round(Weighted(x => x.ErrorRate, s)),
            Round(s.Average(x => x.LatencyP50)),
            Round(s.Average(x => x.LatencyP99)),
            withConversion.Count > 0 ? Round(Weighted(x => x.ConversionRate!.Value, withConversion)) : null,
            withSatisfaction.Count > 0 ? Round(withSatisfaction.Average(x => x.UserSatisfactionScore!.Value)) : null);
    }

    private static double? Relative(double? before, double? after) =>
        before is { } b && after is { } a && b > 0 ? Round((a - b) / b * 100) : null;

    private static double Round(double v) => Math.Round(v, 3);
}
