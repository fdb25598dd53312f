
namespace FlagAnalyzer.Api.Statistics;

/// <summary>Level and volatility of a flag's metrics over a period: what a prediction rests on.</summary>
public sealed record HistorySummary(
    int Samples,
    /// <summary><c>last 24 h</c> when the last day has enough samples, else <c>all history</c>.</summary>
    string Window,
    double RequestsPerSample,
    /// <summary>Request-weighted error rate, percent.</summary>
    double ErrorRate,
    /// <summary>Coefficient of variation of the per-sample error rate (0.4 = it typically moves ±40 %).</summary>
    double ErrorVolatility,
    double LatencyP50,
    double LatencyP50Volatility,
    double LatencyP99,
    double LatencyP99Volatility);

public static class MetricHistory
{
    /// <summary>Samples the last day must hold before it is preferred to the whole history.</summary>
    public const int MinRecentSamples = 10;

    /// <summary>How much of a flag's history the statistics read: its newest samples, for a prediction and a detection window alike.</summary>
    public const int MaxSamples = 10_000;

    /// <summary>Summarises the last 24 h before <paramref name="now"/> (or all of it, if the last day is thin); null without samples.</summary>
    public static HistorySummary? Summarize(IReadOnlyList<MetricSample> history, DateTimeOffset now)
    {
        var since = now.AddDays(-1);
        var lastDay = history.Count(s => s.Timestamp >= since && s.RequestCount > 0);
        var useDay = lastDay >= MinRecentSamples;
        double n = 0, requests = 0, errors = 0;
        var rate = new Moments();
        var p50 = new Moments();
        var p99 = new Moments();
        foreach (var s in history)
        {
            if (s.RequestCount <= 0 || useDay && s.Timestamp < since) continue;
            n++;
            requests += s.RequestCount;
            errors += s.ErrorRate * s.RequestCount;
            rate.Add(s.ErrorRate);
            p50.Add(s.LatencyP50);
            p99.Add(s.LatencyP99);
        }
        if (n == 0) return null;
        return new HistorySummary((int)n, useDay ? "last 24 h" : "all history", requests / n, errors / requests,
            rate.CoefficientOfVariation, p50.Mean, p50.CoefficientOfVariation, p99.Mean, p99.CoefficientOfVariation);
    }

    private struct Moments
    {
        private double _n, _mean, _m2;

        public void Add(double x)
        {
            _n++;
            var d = x - _mean;
            _mean += d / _n;
            _m2 += d * (x - _mean);
        }

        public readonly double Mean => _mean;
        public readonly double CoefficientOfVariation => _n < 2 || _mean <= 0 ? 0 : Math.Sqrt(_m2 / (_n - 1)) / _mean;
    }
}
