using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Predictions;

public sealed class StatisticalPredictorTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly StatisticalPredictor _predictor = new();

    private static Flag Flag(bool enabled, double rollout, string env = "production", bool autoRollback = false) => new()
    {
        Id = "flg_1", Name = "checkout", Enabled = enabled, RolloutPercentage = rollout, TargetEnvironment = env, AutoRollback = autoRollback,
    };

    private static FlagChange Change(string type, DateTimeOffset? at = null, string id = "chg_now") => new()
    {
        Id = id, FlagId = "flg_1", FlagName = "checkout", ChangeType = type, Timestamp = at ?? Now,
    };

    /// <summary>Samples one minute apart ending now; error rate alternates between 1 − swing and 1 + swing percent.</summary>
    private static List<MetricSample> History(int count, double swing = 0.2, long requests = 1000) =>
        Enumerable.Range(0, count).Select(i => new MetricSample
        {
            Id = i + 1, FlagId = "flg_1", Timestamp = Now.AddMinutes(i - count), RequestCount = requests,
            ErrorRate = 1 + (i % 2 == 0 ? -swing : swing), LatencyP50 = 100, LatencyP99 = 400,
        }).ToList();

    private Assessment Predict(Flag? before, Flag after, string type, IReadOnlyList<MetricSample>? history = null,
        IReadOnlyList<FlagChange>? recent = null, IReadOnlyList<Anomaly>? anomalies = null) =>
        _predictor.Predict(new PredictionInput(before, after, Change(type), history ?? [], recent ?? [], anomalies ?? [], Now));

    [Fact]
    public void Change_InProduction_RaisesRiskAboveStagingAboveDevelopment()
    {
        var history = History(200);
        double Score(string env) => Predict(Flag(false, 0, env), Flag(true, 50, env), ChangeTypes.Enabled, history).RiskScore;

        Assert.True(Score("production") > Score("staging"));
        Assert.True(Score("staging") > Score("development"));
    }

    [Fact]
    public void NoHistory_GivesALowConfidencePredictionThatSaysSo()
    {
        var a = Predict(Flag(false, 0), Flag(true, 50), ChangeTypes.Enabled);

        Assert.True(a.Confidence <= 0.2);
        Assert.Contains("no metric history", a.Reasoning);
        Assert.Contains(a.Recommendations, r => r.Contains("Roll out to 5% first") && r.Contains("no metric history"));
        Assert.Equal(0, a.Evidence["samplesUsed"]!.GetValue<int>());
    }

    [Fact]
    public void NoHistory_AtASmallFirstStep_DoesNotAskForASmallerOne()
    {
        var a = Predict(Flag(false, 0), Flag(true, 5), ChangeTypes.Enabled);

        Assert.DoesNotContain(a.Recommendations, r => r.StartsWith("Roll out to", StringComparison.Ordinal));
        Assert.Contains(a.Recommendations, r => r.Contains("Send metrics before and after the change"));
    }

    [Fact]
    public void Confidence_GrowsWithHistory()
    {
        var few = Predict(Flag(false, 0), Flag(true, 10), ChangeTypes.Enabled, History(10)).Confidence;
        var many = Predict(Flag(false, 0), Flag(true, 10), ChangeTypes.Enabled, History(500)).Confidence;

        Assert.True(few < many);
        Assert.True(many > 0.8);
    }

    [Fact]
    public void BigStepInProduction_RecommendsAFivePercentFirstStepQuotingTheMeasuredVolatility()
    {
        // error rate alternates 0.6 % / 1.4 %: mean 1 %, sample SD ≈ 0.4 → ±40 %
        var a = Predict(Flag(false, 0), Flag(true, 60), ChangeTypes.Enabled, History(100, swing: 0.4));

        Assert.Contains(a.Recommendations, r => r.StartsWith("Roll out to 5% first: error rate has varied ±40%", StringComparison.Ordinal));
        Assert.Equal(0.4, a.Evidence["errorRate"]!["volatility"]!.GetValue<double>(), 0.01);
        Assert.Equal(60, a.Evidence["exposureStep"]!.GetValue<double>());
    }

    [Fact]
    public void VolatileHistory_IsRiskierThanSteadyHistory()
    {
        var steady = Predict(Flag(false, 0), Flag(true, 20), ChangeTypes.Enabled, History(100, swing: 0.05)).RiskScore;
        var volatile_ = Predict(Flag(false, 0), Flag(true, 20), ChangeTypes.Enabled, History(100, swing: 0.5)).RiskScore;

        Assert.True(volatile_ > steady);
    }

    [Fact]
    public void OpenAnomaly_RaisesRiskAndIsNamedInTheRecommendations()
    {
        var spike = new Anomaly
        {
            Id = "anm_1", FlagId = "flg_1", Type = AnomalyTypes.ErrorSpike, Severity = Severities.High, Metric = "error_rate",
            BaselineValue = 1, ObservedValue = 2.2, ChangePercent = 120,
        };
        var calm = Predict(Flag(true, 10), Flag(true, 30), ChangeTypes.RolloutChanged, History(100));
        var hurt = Predict(Flag(true, 10), Flag(true, 30), ChangeTypes.RolloutChanged, History(100), anomalies: [spike]);

        Assert.True(hurt.RiskScore > calm.RiskScore);
        Assert.Contains(hurt.Recommendations, r => r.Contains("error_spike") && r.Contains("1.00% → 2.20%"));
        // a 120 % regression at 10 % exposure, tripled in reach
        Assert.Equal(360, hurt.PredictedImpact.ErrorRateChange, 1e-9);
    }

    [Fact]
    public void FrequentRecentChanges_RaiseRisk()
    {
        FlagChange[] busy = [.. Enumerable.Range(1, 4).Select(i => Change(ChangeTypes.RolloutChanged, Now.AddHours(-i), $"chg_{i}"))];
        var quiet = Predict(Flag(true, 10), Flag(true, 20), ChangeTypes.RolloutChanged, History(100));
        var hectic = Predict(Flag(true, 10), Flag(true, 20), ChangeTypes.RolloutChanged, History(100), recent: busy);

        Assert.True(hectic.RiskScore > quiet.RiskScore);
        Assert.Contains(hectic.Recommendations, r => r.Contains("changed 4 times in the last 24 h"));
    }

    [Fact]
    public void Disabling_IsLowerRiskThanEnabling()
    {
        var enable = Predict(Flag(false, 50), Flag(true, 50), ChangeTypes.Enabled, History(100));
        var disable = Predict(Flag(true, 50), Flag(false, 50), ChangeTypes.Disabled, History(100));

        Assert.True(disable.RiskScore < enable.RiskScore);
        Assert.Equal(UserImpacts.None, disable.PredictedImpact.UserImpact);
    }

    [Fact]
    public void SameInput_GivesTheSamePrediction()
    {
        var history = History(300, swing: 0.3);
        var a = Predict(Flag(false, 0), Flag(true, 40), ChangeTypes.Enabled, history);
        var b = Predict(Flag(false, 0), Flag(true, 40), ChangeTypes.Enabled, history);

        Assert.Equal(a.RiskScore, b.RiskScore);
        Assert.Equal(a.Recommendations, b.Recommendations);
        Assert.Equal(a.Evidence.ToJsonString(), b.Evidence.ToJsonString());
    }
}
