using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Statistics;

/// <summary>Builds metric samples around a change at <see cref="ChangeAt"/>, one minute apart.</summary>
internal sealed class Samples
{
    public static readonly DateTimeOffset ChangeAt = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly List<MetricSample> _all = [];
    private int _before, _after;

    public IReadOnlyList<MetricSample> All => _all;

    public Samples Before(int count, double errorRate = 1, double p50 = 100, double p99 = 400, long requests = 1000,
        double? conversion = null, double? satisfaction = null, Cohort? cohort = null)
    {
        for (var i = 0; i < count; i++)
            Add(ChangeAt.AddMinutes(-1 - _before++), cohort, errorRate, Wiggle(p50, i), Wiggle(p99, i), requests, conversion, satisfaction is { } s ? s + (i % 3 - 1) * 0.05 : null);
        return this;
    }

    public Samples After(int count, double errorRate = 1, double p50 = 100, double p99 = 400, long requests = 1000,
        double? conversion = null, double? satisfaction = null, Cohort? cohort = null)
    {
        for (var i = 0; i < count; i++)
            Add(ChangeAt.AddMinutes(_after++), cohort, errorRate, Wiggle(p50, i), Wiggle(p99, i), requests, conversion, satisfaction is { } s ? s + (i % 3 - 1) * 0.05 : null);
        return this;
    }

    // ±3 % so latency has a spread for the t and rank tests
    private static double Wiggle(double v, int i) => v * (1 + (i % 5 - 2) * 0.015);

    private void Add(DateTimeOffset at, Cohort? cohort, double errorRate, double p50, double p99, long requests, double? conversion, double? satisfaction) =>
        _all.Add(new MetricSample
        {
            Id = _all.Count + 1, FlagId = "flg_test", Timestamp = at, Cohort = cohort, ErrorRate = errorRate,
            LatencyP50 = p50, LatencyP99 = Math.Max(p50, p99), RequestCount = requests, ConversionRate = conversion, UserSatisfactionScore = satisfaction,
        });
}
