using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Metrics;
using static FlagAnalyzer.Api.Statistics.DetectionRules;

namespace FlagAnalyzer.Tests.Unit.Statistics;

public sealed class RegressionDetectorTests
{
    private static FlagAnalysis Analyze(Samples s, double? rollout = null) =>
        RegressionDetector.Analyze(FlagWindow.Build(Samples.ChangeAt, s.All), rollout);

    private static MetricFinding Finding(FlagAnalysis a, string metric) => a.Findings.Single(f => f.Metric == metric);

    [Fact]
    public void DoubledErrorRate_AfterAChange_IsAHighSeverityRegression()
    {
        var a = Analyze(new Samples().Before(30, errorRate: 1).After(3, errorRate: 2));

        var f = Finding(a, MetricNames.ErrorRate);
        Assert.Equal(AnalysisMode.BeforeAfter, a.Mode);
        Assert.Equal(Verdict.Regression, f.Verdict);
        Assert.Equal(AnomalyType.ErrorSpike, f.Type);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Equal(1, f.BaselineValue!.Value, 1e-9);
        Assert.Equal(2, f.ObservedValue!.Value, 1e-9);
        Assert.Equal(100, f.ChangePercent!.Value, 1e-9);
        Assert.True(f.Confidence > 0.99);
    }

    [Fact]
    public void UnchangedMetrics_RaiseNothing()
    {
        var a = Analyze(new Samples().Before(30, conversion: 5, satisfaction: 4.2).After(10, conversion: 5, satisfaction: 4.2));

        Assert.Empty(a.Regressions);
        Assert.All(a.Findings, f => Assert.Equal(Verdict.WithinThreshold, f.Verdict));
    }

    [Fact]
    public void ThresholdCrossedOnTooLittleTraffic_IsNotSignificant()
    {
        // 1 % → 3 % looks like +200 %, but 30 × 50 requests before and 2 × 50 after is 15 errors against 3
        var a = Analyze(new Samples().Before(30, errorRate: 1, requests: 50).After(2, errorRate: 3, requests: 50));

        var f = Finding(a, MetricNames.ErrorRate);
        Assert.True(f.ThresholdCrossed);
        Assert.Equal(Verdict.NotSignificant, f.Verdict);
    }

    [Fact]
    public void SignificantButBelowTheSeedThreshold_IsNoRegression()
    {
        // 1.0 % → 1.3 % over a million requests is real, but under the +50 % bar
        var a = Analyze(new Samples().Before(100, errorRate: 1, requests: 10_000).After(100, errorRate: 1.3, requests: 10_000));

        var f = Finding(a, MetricNames.ErrorRate);
        Assert.True(f.Significant);
        Assert.Equal(Verdict.WithinThreshold, f.Verdict);
    }

    [Fact]
    public void TooFewBaselineSamples_AreInsufficientData()
    {
        var a = Analyze(new Samples().Before(2, errorRate: 1).After(5, errorRate: 5));

        Assert.Equal(Verdict.InsufficientData, Finding(a, MetricNames.ErrorRate).Verdict);
    }

    [Fact]
    public void NoChange_MeansNoBaseline()
    {
        var a = RegressionDetector.Analyze(FlagWindow.Build(null, new Samples().After(20).All));

        Assert.Equal(AnalysisMode.None, a.Mode);
        Assert.Empty(a.Regressions);
    }

    [Fact]
    public void P50AndP99Spikes_AreLatencySpikesWithSeverityFromTheRatio()
    {
        var a = Analyze(new Samples().Before(30, p50: 100, p99: 400).After(4, p50: 350, p99: 2200));

        var p50 = Finding(a, MetricNames.LatencyP50);
        var p99 = Finding(a, MetricNames.LatencyP99);
        Assert.Equal(Verdict.Regression, p50.Verdict);
        Assert.Equal(AnomalyType.LatencySpike, p50.Type);
        Assert.Equal(Severity.High, p50.Severity); // 3.5×
        Assert.Equal(Severity.Critical, p99.Severity); // 5.5×
        Assert.NotNull(p50.RankPValue);
    }

    [Fact]
    public void ConversionDrop_IsDetectedOnTheLowerTail()
    {
        var a = Analyze(new Samples().Before(30, conversion: 5, requests: 5000).After(5, conversion: 3.5, requests: 5000));

        var f = Finding(a, MetricNames.ConversionRate);
        Assert.Equal(Verdict.Regression, f.Verdict);
        Assert.Equal(AnomalyType.ConversionDrop, f.Type);
        Assert.Equal(-30, f.ChangePercent!.Value, 1e-9);
        Assert.Equal(Severity.High, f.Severity);
    }

    [Fact]
    public void SatisfactionDrop_IsDetected()
    {
        var a = Analyze(new Samples().Before(30, satisfaction: 4.5).After(4, satisfaction: 3.0));

        var f = Finding(a, MetricNames.UserSatisfaction);
        Assert.Equal(Verdict.Regression, f.Verdict);
        Assert.Equal(AnomalyType.SatisfactionDrop, f.Type);
    }

    [Fact]
    public void ControlCohort_IsTheBaselineWhenPresent()
    {
        // before the change errors were 3 %; after it, control runs at 1 % and treatment at 2 %
        var a = Analyze(new Samples().Before(30, errorRate: 3)
            .After(10, errorRate: 1, cohort: Cohort.Control).After(10, errorRate: 2, cohort: Cohort.Treatment), rollout: 50);

        var f = Finding(a, MetricNames.ErrorRate);
        Assert.Equal(AnalysisMode.Cohorts, a.Mode);
        Assert.Equal(1, f.BaselineValue!.Value, 1e-9);
        Assert.Equal(Verdict.Regression, f.Verdict);
        Assert.False(a.Srm!.Mismatch);
    }

    [Fact]
    public void CohortsSplitUnlikeTheRollout_AreFlaggedAsSampleRatioMismatch()
    {
        // a 10 % rollout whose treatment sees as many requests as control
        var a = Analyze(new Samples().After(10, cohort: Cohort.Control).After(10, cohort: Cohort.Treatment), rollout: 10);

        Assert.True(a.Srm!.Mismatch);
        Assert.True(a.Srm.PValue < SrmAlpha);
    }

    [Fact]
    public void RecentValue_ReflectsTheNewestSamples()
    {
        var a = Analyze(new Samples().Before(30, errorRate: 1).After(5, errorRate: 3).After(3, errorRate: 1));

        var f = Finding(a, MetricNames.ErrorRate);
        Assert.Equal(1, f.RecentValue!.Value, 1e-9);
        Assert.True(Recovered(MetricNames.ErrorRate, 1, f.RecentValue.Value));
    }
}
