using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Anomalies;
using static FlagAnalyzer.Api.Statistics.DetectionRules;

namespace FlagAnalyzer.Tests.Unit.Statistics;

public sealed class AnomalyReconcilerTests
{
    private static readonly DateTimeOffset Now = Samples.ChangeAt.AddHours(1);
    private int _ids;

    private Reconciliation Reconcile(Samples s, params Anomaly[] open) =>
        AnomalyReconciler.Reconcile("flg_test", RegressionDetector.Analyze(FlagWindow.Build(Samples.ChangeAt, s.All)), open, "chg_1", Now,
            () => $"anm_{++_ids}");

    [Fact]
    public void ARegression_RaisesOneAnomalyWithTheNumbersInItsMessage()
    {
        var r = Reconcile(new Samples().Before(30, errorRate: 1).After(3, errorRate: 2));

        var a = Assert.Single(r.Raise);
        Assert.Equal(AnomalyType.ErrorSpike, a.Type);
        Assert.Equal("chg_1", a.ChangeId);
        Assert.Contains("from 1.00% to 2.00% (+100%)", a.Message);
        Assert.Contains("confidence", a.Message);
        Assert.Equal(AnomalyStatus.Active, a.Status);
    }

    [Fact]
    public void AnOpenAnomalyForTheSameMetric_IsNotRaisedAgain()
    {
        var s = new Samples().Before(30, errorRate: 1).After(3, errorRate: 2);
        var first = Assert.Single(Reconcile(s).Raise);

        var again = Reconcile(s.After(2, errorRate: 2), first);

        Assert.Empty(again.Raise);
        Assert.Equal(first.Id, Assert.Single(again.Ongoing).Id);
    }

    [Fact]
    public void RecoveredMetrics_ResolveTheOpenAnomaly()
    {
        var s = new Samples().Before(30, errorRate: 1).After(3, errorRate: 2);
        var first = Assert.Single(Reconcile(s).Raise);

        var r = Reconcile(s.After(3, errorRate: 1), first);

        var resolved = Assert.Single(r.Resolve);
        Assert.Equal(AnomalyStatus.Resolved, resolved.Status);
        Assert.Equal(Now, resolved.ResolvedAt);
        Assert.Contains("Resolved", resolved.Message);
        Assert.Empty(r.Raise);
    }

    [Fact]
    public void ADeepeningRegression_EscalatesSeverityWithoutANewAnomaly()
    {
        var s = new Samples().Before(30, errorRate: 1).After(3, errorRate: 1.8);
        var first = Assert.Single(Reconcile(s).Raise);
        Assert.Equal(Severity.Medium, first.Severity);

        var r = Reconcile(s.After(20, errorRate: 6), first);

        Assert.Empty(r.Raise);
        var deeper = Assert.Single(r.Escalate);
        Assert.Equal(first.Id, deeper.Id);
        Assert.Equal(Severity.Critical, deeper.Severity);
    }

    [Fact]
    public void ARegressionThatAlreadyRecovered_IsNotRaised()
    {
        // the cumulative window still shows the spike, the newest samples do not
        var r = Reconcile(new Samples().Before(30, errorRate: 1).After(10, errorRate: 3).After(5, errorRate: 1));

        Assert.Empty(r.Raise);
    }

    [Fact]
    public void Recovery_UsesHysteresisHalfwayToTheThreshold()
    {
        Assert.False(Recovered(MetricNames.ErrorRate, 1.0, 1.3));
        Assert.True(Recovered(MetricNames.ErrorRate, 1.0, 1.2));
        Assert.False(Recovered(MetricNames.ConversionRate, 5.0, 4.7));
        Assert.True(Recovered(MetricNames.ConversionRate, 5.0, 4.8));
    }

    [Fact]
    public void AMessage_NamesTheChangeByWhatItDidAndWhen_NotByItsId()
    {
        var analysis = RegressionDetector.Analyze(FlagWindow.Build(Samples.ChangeAt, new Samples().Before(30, errorRate: 1).After(3, errorRate: 2).All));

        var a = Assert.Single(AnomalyReconciler.Reconcile("flg_test", analysis, [], "chg_1", Now, () => "anm_1", changeText: "rollout 10% → 25% at 14:02 UTC").Raise);

        Assert.Contains("after rollout 10% → 25% at 14:02 UTC vs before it", a.Message);
        Assert.DoesNotContain("chg_1", a.Message);
        Assert.Equal("chg_1", a.ChangeId);
    }

    [Fact]
    public void AMessage_WritesTinyPValuesAsBelowOneInTenBillion()
    {
        // a strong regression over many requests: its p-values are far below 1e-10 (or underflow to 0)
        var a = Assert.Single(Reconcile(new Samples().Before(30, errorRate: 1).After(10, errorRate: 8)).Raise);

        Assert.Contains("sequential p < 1e-10", a.Message);
        Assert.Contains("z-test p < 1e-10", a.Message);
        Assert.DoesNotContain("p = 0", a.Message);
    }

    [Theory]
    [InlineData(0.0, "p < 1e-10")]
    [InlineData(4.0e-44, "p < 1e-10")]
    [InlineData(3.2e-7, "p = 3.2e-7")]
    [InlineData(0.0123, "p = 0.0123")]
    [InlineData(1.0, "p = 1")]
    public void PValues_AreWrittenOneWay(double p, string expected) => Assert.Equal(expected, PValueText.Format(p));
}
