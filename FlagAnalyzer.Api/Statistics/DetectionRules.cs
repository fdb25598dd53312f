
namespace FlagAnalyzer.Api.Statistics;

/// <summary>
/// The thresholds a regression must cross (the seed's rules) and the evidence it must carry (the tests'
/// significance level and the minimum-sample gate). One place, so the API, the detector and the benchmark agree.
/// </summary>
public static class DetectionRules
{
    /// <summary>Significance level of every test; with the sequential test it holds under continuous monitoring.</summary>
    public const double Alpha = 0.01;
    /// <summary>Below this the cohort split is not what the rollout promises and cohort comparisons are not trusted.</summary>
    public const double SrmAlpha = 0.001;

    /// <summary>Seed: error rate +50 %.</summary>
    public const double ErrorIncrease = 0.5;
    /// <summary>Seed: P50 latency +100 %; P99 uses the same bar.</summary>
    public const double LatencyIncrease = 1.0;
    /// <summary>The seed asks for a "significant" conversion drop; we also require it to matter: at least 10 % relative.</summary>
    public const double ConversionDrop = 0.10;
    public const double SatisfactionDrop = 0.10;

    // minimum-sample gate
    public const int MinBaselineSamples = 3;
    public const double MinBaselineRequests = 500;
    public const double MinCurrentRequests = 100;
    public const int MinCurrentSamplesForMeans = 2;
    /// <summary>Events (errors or conversions) across both windows below which a proportion test is not run.</summary>
    public const double MinEvents = 5;
    /// <summary>The newest samples used to judge recovery: at least this many samples and requests.</summary>
    public const int MinRecentSamples = 3;
    public const double MinRecentRequests = 300;

    /// <summary>
    /// A regression counts as recovered once the newest samples are back within half of the threshold of the
    /// baseline (hysteresis: recovering takes more than dipping just under the bar, so anomalies do not flap).
    /// </summary>
    public static bool Recovered(string metric, double baselineValue, double recentValue) => metric switch
    {
        MetricNames.ErrorRate => recentValue <= baselineValue * (1 + ErrorIncrease / 2),
        MetricNames.LatencyP50 or MetricNames.LatencyP99 => recentValue <= baselineValue * (1 + LatencyIncrease / 2),
        MetricNames.ConversionRate => recentValue >= baselineValue * (1 - ConversionDrop / 2),
        MetricNames.UserSatisfaction => recentValue >= baselineValue * (1 - SatisfactionDrop / 2),
        _ => true,
    };

    /// <summary>Severity from the effect size (the ratio or relative drop against the baseline).</summary>
    public static Severity SeverityOf(string metric, double baselineValue, double observedValue)
    {
        if (metric is MetricNames.ConversionRate or MetricNames.UserSatisfaction)
        {
            var drop = baselineValue > 0 ? (baselineValue - observedValue) / baselineValue : 0;
            var (critical, high, medium) = metric == MetricNames.ConversionRate ? (0.5, 0.25, 0.15) : (0.4, 0.25, 0.15);
            return drop >= critical ? Severity.Critical : drop >= high ? Severity.High : drop >= medium ? Severity.Medium : Severity.Low;
        }
        var ratio = baselineValue > 0 ? observedValue / baselineValue : double.PositiveInfinity;
        if (metric == MetricNames.ErrorRate)
        {
            // percentage points matter too: 20 % → 31 % errors is only 1.55× but hurts a lot of users
            var points = observedValue - baselineValue;
            return ratio >= 4 || points >= 10 ? Severity.Critical
                : ratio >= 2 || points >= 5 ? Severity.High
                : Severity.Medium;
        }
        return ratio >= 5 ? Severity.Critical : ratio >= 3 ? Severity.High : Severity.Medium;
    }

    public static class MetricNames
    {
        public const string ErrorRate = "error_rate";
        public const string LatencyP50 = "latency_p50";
        public const string LatencyP99 = "latency_p99";
        public const string ConversionRate = "conversion_rate";
        public const string UserSatisfaction = "user_satisfaction_score";
    }

    public static AnomalyType AnomalyTypeOf(string metric) => metric switch
    {
        MetricNames.ErrorRate => AnomalyType.ErrorSpike,
        MetricNames.LatencyP50 or MetricNames.LatencyP99 => AnomalyType.LatencySpike,
        MetricNames.ConversionRate => AnomalyType.ConversionDrop,
        _ => AnomalyType.SatisfactionDrop,
    };
}
