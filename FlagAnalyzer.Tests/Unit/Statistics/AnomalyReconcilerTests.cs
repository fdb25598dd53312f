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
        Assert.Equal(AnomalyTypes.ErrorSpike, a.Type);
        Assert.Equal("chg_1", a.ChangeId);
        Assert.Contains("from 1.00% to 2.00% (+100%)", a.Message);
        Assert.Contains("confidence", a.Message);
        Assert.Equal(AnomalyStatuses.Active, a.Status);
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
        Assert.Equal(AnomalyStatuses.Resolved, resolved.Status);
        Assert.Equal(Now, resolved.ResolvedAt);
        Assert.Contains("Resolved", resolved.Message);
        Assert.Empty(r.Raise);
    }

    [Fact]
    public void ADeepeningRegression_EscalatesSeverityWithoutANewAnomaly()
    {
        var s = new Samples().Before(30, errorRate: 1).After(3, errorRate: 1.8);
        var first = Assert.Single(Reconcile(s).Raise);
        Assert.Equal(Severities.Medium, first.Severity);

        var r = Reconcile(s.After(20, errorRate: 6), first);

        Assert.Empty(r.Raise);
        var deeper = Assert.Single(r.Escalate);
        Assert.Equal(first.Id, deeper.Id);
        Assert.Equal(Severities.Critical, deeper.Severity);
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
}
