using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>With samples that name their variants, each served variant is compared with control, and anomalies say which.</summary>
public sealed class VariantDetectionTests
{
    private static readonly DateTimeOffset ChangeAt = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static IEnumerable<MetricSample> Stream(string cohort, string? variant, double errorRate, int count = 8, long requests = 1000) =>
        Enumerable.Range(0, count).Select(i => new MetricSample
        {
            FlagId = "flg_v", Timestamp = ChangeAt.AddMinutes(1 + i), Cohort = Cohorts.ParseOptional(cohort), Variant = variant,
            ErrorRate = errorRate + (i % 3 - 1) * 0.05, LatencyP50 = 100 + i % 3, LatencyP99 = 400, RequestCount = requests,
        });

    private static FlagWindow Window(params IEnumerable<MetricSample>[] streams)
    {
        var all = streams.SelectMany(s => s).Select((s, i) => s with { Id = i + 1 });
        return FlagWindow.Build(ChangeAt, all);
    }

    [Fact]
    public void TwoVariants_EachIsComparedWithControl_OnlyTheBadOneRegresses()
    {
        var w = Window(Stream("control", "off", 1, requests: 2000), Stream("treatment", "blue", 1), Stream("treatment", "green", 3));

        var a = RegressionDetector.AnalyzeVariants(w, rolloutPercentage: 50);

        Assert.Equal(["blue", "green"], a.PerVariant.Select(v => v.Variant));
        Assert.DoesNotContain(a.PerVariant.Single(v => v.Variant == "blue").Analysis.Findings, f => f.IsRegression);
        var green = a.PerVariant.Single(v => v.Variant == "green").Analysis;
        Assert.Equal(AnalysisMode.Cohorts, green.Mode);
        Assert.Equal(8000, green.Current.Requests);
        Assert.Contains(green.Findings, f => f.IsRegression && f.Type.ToWire() == "error_spike");
        Assert.False(a.Overall.Srm!.Mismatch); // 16,000 treatment vs 16,000 control requests at 50 %
    }

    [Fact]
    public void OneNamedVariant_IsTheTreatmentNamed()
    {
        var a = RegressionDetector.AnalyzeVariants(Window(Stream("control", "off", 1), Stream("treatment", "on", 3)), 50);

        var only = Assert.Single(a.PerVariant);
        Assert.Equal("on", only.Variant);
        Assert.Same(a.Overall, only.Analysis);
    }

    [Fact]
    public void UntaggedOrMixedTreatment_KeepsTheSingleComparison_Unnamed()
    {
        var untagged = RegressionDetector.AnalyzeVariants(Window(Stream("control", null, 1), Stream("treatment", null, 3)), 50);
        Assert.Null(Assert.Single(untagged.PerVariant).Variant);

        var mixed = RegressionDetector.AnalyzeVariants(Window(Stream("control", "off", 1), Stream("treatment", "on", 3), Stream("treatment", null, 3)), 50);
        Assert.Null(Assert.Single(mixed.PerVariant).Variant);
    }

    [Fact]
    public void Reconciler_RaisesNamedAnomalies_AndSaysWhichVariant()
    {
        var a = RegressionDetector.AnalyzeVariants(Window(Stream("control", "off", 1, requests: 2000), Stream("treatment", "blue", 1), Stream("treatment", "green", 3)), 50);
        var green = a.PerVariant.Single(v => v.Variant == "green");

        var r = AnomalyReconciler.Reconcile("flg_v", green.Analysis, [], null, ChangeAt.AddHours(1), () => "anm_1", green.Variant);

        var raised = Assert.Single(r.Raise);
        Assert.Equal("green", raised.Variant);
        Assert.Contains("treatment variant 'green' vs control cohort", raised.Message);
    }
}
