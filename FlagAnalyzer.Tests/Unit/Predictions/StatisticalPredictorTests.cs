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

    private static FlagChange Change(ChangeType type, DateTimeOffset? at = null, string id = "chg_now") => new()
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

    private Assessment Predict(Flag? before, Flag after, ChangeType type, IReadOnlyList<MetricSample>? history = null,
        IReadOnlyList<FlagChange>? recent = null, IReadOnlyList<Anomaly>? anomalies = null) =>
        _predictor.Predict(new PredictionInput(before, after, Change(type), history ?? [], recent ?? [], anomalies ?? [], Now));

    [Fact]
    public void Change_InProduction_RaisesRiskAboveStagingAboveDevelopment()
    {
        var history = History(200);
        double Score(string env) => Predict(Flag(false, 0, env), Flag(true, 50, env), ChangeType.Enabled, history).RiskScore;

        Assert.True(Score("production") > Score("staging"));
        Assert.True(Score("staging") > Score("development"));
    }

    [Fact]
    public void NoHistory_GivesALowConfidencePredictionThatSaysSo()
    {
        var a = Predict(Flag(false, 0), Flag(true, 50), ChangeType.Enabled);

        Assert.True(a.Confidence <= 0.2);
        Assert.Contains("no metric history", a.Reasoning);
        Assert.Contains(a.Recommendations, r => r.Contains("Roll out to 5% first") && r.Contains("no metric history"));
        Assert.Equal(0, a.Evidence["samplesUsed"]!.GetValue<int>());
    }

    [Fact]
    public void NoHistory_AtASmallFirstStep_DoesNotAskForASmallerOne()
    {
        var a = Predict(Flag(false, 0), Flag(true, 5), ChangeType.Enabled);

        Assert.DoesNotContain(a.Recommendations, r => r.StartsWith("Roll out to", StringComparison.Ordinal));
        Assert.Contains(a.Recommendations, r => r.Contains("Send metrics before and after the change"));
    }

    [Fact]
    public void Confidence_GrowsWithHistory()
    {
        var few = Predict(Flag(false, 0), Flag(true, 10), ChangeType.Enabled, History(10)).Confidence;
        var many = Predict(Flag(false, 0), Flag(true, 10), ChangeType.Enabled, History(500)).Confidence;

        Assert.True(few < many);
        Assert.True(many > 0.8);
    }

    [Fact]
    public void BigStepInProduction_RecommendsAFivePercentFirstStepQuotingTheMeasuredVolatility()
    {
        // error rate alternates 0.6 % / 1.4 %: mean 1 %, sample SD ≈ 0.4 → ±40 %
        var a = Predict(Flag(false, 0), Flag(true, 60), ChangeType.Enabled, History(100, swing: 0.4));

        Assert.Contains(a.Recommendations, r => r.StartsWith("Roll out to 5% first: error rate has varied ±40%", StringComparison.Ordinal));
        Assert.Equal(0.4, a.Evidence["errorRate"]!["volatility"]!.GetValue<double>(), 0.01);
        Assert.Equal(60, a.Evidence["exposureStep"]!.GetValue<double>());
    }

    [Fact]
    public void VolatileHistory_IsRiskierThanSteadyHistory()
    {
        var steady = Predict(Flag(false, 0), Flag(true, 20), ChangeType.Enabled, History(100, swing: 0.05)).RiskScore;
        var volatile_ = Predict(Flag(false, 0), Flag(true, 20), ChangeType.Enabled, History(100, swing: 0.5)).RiskScore;

        Assert.True(volatile_ > steady);
    }

    [Fact]
    public void OpenAnomaly_RaisesRiskAndIsNamedInTheRecommendations()
    {
        var spike = new Anomaly
        {
            Id = "anm_1", FlagId = "flg_1", Type = AnomalyType.ErrorSpike, Severity = Severity.High, Metric = "error_rate",
            BaselineValue = 1, ObservedValue = 2.2, ChangePercent = 120,
        };
        var calm = Predict(Flag(true, 10), Flag(true, 30), ChangeType.RolloutChanged, History(100));
        var hurt = Predict(Flag(true, 10), Flag(true, 30), ChangeType.RolloutChanged, History(100), anomalies: [spike]);

        Assert.True(hurt.RiskScore > calm.RiskScore);
        Assert.Contains(hurt.Recommendations, r => r.Contains("error_spike") && r.Contains("1.00% → 2.20%"));
        // a 120 % regression at 10 % exposure, tripled in reach
        Assert.Equal(360, hurt.PredictedImpact.ErrorRateChange, 1e-9);
    }

    [Fact]
    public void FrequentRecentChanges_RaiseRisk()
    {
        FlagChange[] busy = [.. Enumerable.Range(1, 4).Select(i => Change(ChangeType.RolloutChanged, Now.AddHours(-i), $"chg_{i}"))];
        var quiet = Predict(Flag(true, 10), Flag(true, 20), ChangeType.RolloutChanged, History(100));
        var hectic = Predict(Flag(true, 10), Flag(true, 20), ChangeType.RolloutChanged, History(100), recent: busy);

        Assert.True(hectic.RiskScore > quiet.RiskScore);
        Assert.Contains(hectic.Recommendations, r => r.Contains("changed 4 times in the last 24 h"));
    }

    [Fact]
    public void Disabling_IsLowerRiskThanEnabling()
    {
        var enable = Predict(Flag(false, 50), Flag(true, 50), ChangeType.Enabled, History(100));
        var disable = Predict(Flag(true, 50), Flag(false, 50), ChangeType.Disabled, History(100));

        Assert.True(disable.RiskScore < enable.RiskScore);
        Assert.Equal(UserImpact.None, disable.PredictedImpact.UserImpact);
    }

    [Fact]
    public void SameInput_GivesTheSamePrediction()
    {
        var history = History(300, swing: 0.3);
        var a = Predict(Flag(false, 0), Flag(true, 40), ChangeType.Enabled, history);
        var b = Predict(Flag(false, 0), Flag(true, 40), ChangeType.Enabled, history);

        Assert.Equal(a.RiskScore, b.RiskScore);
        Assert.Equal(a.Recommendations, b.Recommendations);
        Assert.Equal(a.Evidence.ToJsonString(), b.Evidence.ToJsonString());
    }

    private static Anomaly ErrorSpike(Severity severity, double baseline, double observed, double pValue = 1e-12) => new()
    {
        Id = "anm_1", FlagId = "flg_1", Type = AnomalyType.ErrorSpike, Severity = severity, Metric = "error_rate",
        BaselineValue = baseline, ObservedValue = observed, ChangePercent = (observed - baseline) / baseline * 100, PValue = pValue,
    };

    [Theory]
    [InlineData(Severity.Critical, RiskLevel.Critical)]
    [InlineData(Severity.High, RiskLevel.High)]
    public void WideningExposure_WhileARegressionIsOpenOnTheFlag_IsAtLeastAsRiskyAsTheRegression(Severity severity, RiskLevel atLeast)
    {
        // the case: 10 % → 25 % in production with an open error spike of about +300 %
        var a = Predict(Flag(true, 10), Flag(true, 25), ChangeType.RolloutChanged, History(100), anomalies: [ErrorSpike(severity, 0.5, 2.008)]);

        Assert.True(RiskLevels.Rank(a.RiskLevel) >= RiskLevels.Rank(atLeast), $"{a.RiskLevel} ({a.RiskScore})");
    }

    [Fact]
    public void RollingBack_WhileACriticalRegressionIsOpen_IsNotRaisedToCritical()
    {
        var a = Predict(Flag(true, 25), Flag(true, 0), ChangeType.RolloutChanged, History(100), anomalies: [ErrorSpike(Severity.Critical, 0.5, 2)]);

        Assert.True(RiskLevels.Rank(a.RiskLevel) < RiskLevels.Rank(RiskLevel.High), $"{a.RiskLevel} ({a.RiskScore})");
    }

    [Fact]
    public void PredictedErrorChange_CannotExceedAnErrorRateOf100Percent()
    {
        // 20 % → 60 % at 10 % exposure: the exposed share already fails 100 % of the time; widening to 100 % can at most
        // take the flag to 100 % errors (+400 %), not the +2,000 % a straight line would say
        var a = Predict(Flag(true, 10), Flag(true, 100), ChangeType.RolloutChanged, History(100), anomalies: [ErrorSpike(Severity.Critical, 20, 60)]);

        Assert.Equal(400, a.PredictedImpact.ErrorRateChange, 1e-6);
        Assert.Equal(400, a.PredictedImpact.ErrorRateChangeInterval![1], 1e-6);
    }

    [Fact]
    public void PredictedChange_CarriesAnIntervalFromTheAnomalysUncertainty()
    {
        // +100 % with one-sided p = P(Z ≥ 4): standard error 100/4 = 25, so 100 ± 49; widening 10 % → 25 % scales by 2.5
        var a = Predict(Flag(true, 10), Flag(true, 25), ChangeType.RolloutChanged, History(100),
            anomalies: [ErrorSpike(Severity.High, 1, 2, pValue: Normal.Survival(4))]);

        Assert.Equal(250, a.PredictedImpact.ErrorRateChange, 1e-6);
        Assert.Equal(127.5, a.PredictedImpact.ErrorRateChangeInterval![0], 0.01);
        Assert.Equal(372.5, a.PredictedImpact.ErrorRateChangeInterval![1], 0.01);
        Assert.Equal(127.5, a.Evidence["errorRateChangeInterval"]![0]!.GetValue<double>(), 0.01);
    }

    [Fact]
    public void PredictedChange_WithoutRegressionOrHistory_HasNoInterval_AndWithHistoryIsCentredOnNoChange()
    {
        var none = Predict(Flag(false, 0), Flag(true, 50), ChangeType.Enabled);
        var some = Predict(Flag(false, 0), Flag(true, 50), ChangeType.Enabled, History(100, swing: 0.4));

        Assert.Null(none.PredictedImpact.ErrorRateChangeInterval);
        var (low, high) = (some.PredictedImpact.ErrorRateChangeInterval![0], some.PredictedImpact.ErrorRateChangeInterval![1]);
        Assert.True(low < 0 && high > 0 && Math.Abs(low + high) < 1e-9, $"[{low}, {high}]");
    }

    [Fact]
    public void FlagCreation_IsNotCountedAsAnotherChange()
    {
        FlagChange[] recent = [Change(ChangeType.Created, Now.AddMinutes(-30), "chg_created")];
        var a = Predict(Flag(false, 0), Flag(true, 10), ChangeType.Enabled, History(100), recent: recent);

        Assert.Contains("0 other change(s) in the last 24 h", a.Reasoning);
        Assert.Equal(0, a.Evidence["changesLast7d"]!.GetValue<int>());
    }
}
