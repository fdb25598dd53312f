using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Statistics;

/// <summary>
/// Each test against its textbook formula (quoted next to it) or a published example. The formula steps are
/// shown by hand; every digit past the published ones was computed independently in Python 3.11 with mpmath at
/// 30 significant digits (normal tails as <c>erfc(z/√2)/2</c>, Student's t through the regularised incomplete
/// beta), not by the code under test.
/// </summary>
public sealed class HypothesisTestsTests
{
    [Fact]
    public void TwoProportion_TenVersusTwentyFiveErrorsPerThousand()
    {
        // p̄ = 35/2000 = 0.0175; SE = √(0.0175·0.9825·(1/1000 + 1/1000)) = 0.0058642…
        // z = (0.025 − 0.010)/SE = 2.557943557892809; P(Z ≥ z) = 0.005264659032641468; two-sided 0.010529318065282936
        var greater = TwoProportionTest.Run(10, 1000, 25, 1000, Tail.Greater);
        var both = TwoProportionTest.Run(10, 1000, 25, 1000, Tail.TwoSided);

        Assert.Equal(2.557943557892809, greater.Statistic, 1e-12);
        Assert.Equal(0.005264659032641468, greater.PValue, 1e-12);
        Assert.Equal(0.010529318065282936, both.PValue, 1e-12);
        Assert.Equal(0.015, greater.Estimate, 1e-15);
    }

    [Fact]
    public void TwoProportion_ADropIsOnlySignificantOnTheLowerTail()
    {
        var less = TwoProportionTest.Run(25, 1000, 10, 1000, Tail.Less);
        var greater = TwoProportionTest.Run(25, 1000, 10, 1000, Tail.Greater);

        Assert.Equal(0.005264659032641468, less.PValue, 1e-12);
        Assert.Equal(1 - 0.005264659032641468, greater.PValue, 1e-12);
    }

    [Fact]
    public void Welch_WikipediaExample()
    {
        // Wikipedia, "Welch's t-test", example 2 (A1 vs A2) publishes t = 2.46, ν ≈ 24.99, two-sided p = 0.021.
        // The digits below were computed independently (Python 3.11 mpmath, 30 significant digits, from the
        // textbook formulas and the regularised incomplete beta for Student's t): s₁² = 7.867428571…,
        // s₂² = 3.812666666… → t = 2.455356398286005, ν = 24.98852929023141, one-sided p = 0.010689000731,
        // two-sided p = 0.021378001463.
        double[] a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
        double[] a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];

        var both = WelchTest.Run(a1, a2, Tail.TwoSided);
        var greater = WelchTest.Run(a1, a2, Tail.Greater);

        Assert.Equal(2.45535639828601, both.Statistic, 1e-10);
        Assert.Equal(0.021378, both.PValue, 1e-5);
        Assert.Equal(0.010689, greater.PValue, 1e-5);
    }

    [Fact]
    public void MannWhitney_CompleteSeparation()
    {
        // current [3,4,5] all above baseline [1,2]: U = 6, μ = 3, σ = √(3·2/12 · 6) = √3,
        // z = (6 − 3 − ½)/√3 = 1.4433756729740645, p = P(Z ≥ z) = 0.07445733658938283
        var r = MannWhitneyU.Run([1, 2], [3, 4, 5], Tail.Greater);

        Assert.Equal(6, r.Statistic);
        Assert.Equal(0.07445733658938283, r.PValue, 1e-12);
    }

    [Fact]
    public void MannWhitney_TiesGetAverageRanksAndTheTieCorrection()
    {
        // current [2,3,3,5,6], baseline [1,2,3,4]; ranks 1, 2.5 2.5, 5 5 5, 7, 8, 9
        // R(current) = 2.5 + 5 + 5 + 8 + 9 = 29.5, U = 29.5 − 15 = 14.5; ties Σ(t³ − t) = 6 + 24 = 30
        // σ = √(20/12 · (10 − 30/72)) = 3.9965…, z = (14.5 − 10 − ½)/σ = 1.0008691874739588, p = 0.1584450274114808
        var r = MannWhitneyU.Run([1, 2, 3, 4], [2, 3, 3, 5, 6], Tail.Greater);

        Assert.Equal(14.5, r.Statistic);
        Assert.Equal(0.1584450274114808, r.PValue, 1e-12);
    }

    [Fact]
    public void Sequential_LikelihoodRatioMatchesTheFormula()
    {
        // θ̂ = 1, V = ¼, τ² = 1: Λ = √(0.25/1.25) · exp(1/(2·0.25·1.25)) = 0.4472136 · e^1.6 = 2.215063439141613
        var r = SequentialTest.Run(1, 0.25, 1, Tail.Greater);

        Assert.Equal(2.215063439141613, r.Statistic, 1e-12);
        Assert.Equal(0.451454338656559, r.PValue, 1e-12);
    }

    [Fact]
    public void Sequential_IgnoresAnEffectOnTheHarmlessSide()
    {
        Assert.Equal(1, SequentialTest.Run(-5, 0.25, 1, Tail.Greater).PValue);
        Assert.True(SequentialTest.Run(-5, 0.25, 1, Tail.Less).PValue < 1e-6);
    }

    [Fact]
    public void Sequential_StaysBelowAlphaUnderContinuousMonitoringWhereRepeatedZTestsDoNot()
    {
        // 2,000 seeded null streams, each looked at after every one of 200 observations (σ = 1, no effect)
        const double alpha = 0.05;
        var rng = new Random(12345);
        int sequentialAlarms = 0, naiveAlarms = 0;
        for (var stream = 0; stream < 2000; stream++)
        {
            double sum = 0;
            bool seq = false, naive = false;
            for (var n = 1; n <= 200; n++)
            {
                sum += Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                var mean = sum / n;
                seq |= SequentialTest.Run(mean, 1.0 / n, 0.25, Tail.Greater).PValue < alpha;
                naive |= Normal.Survival(mean * Math.Sqrt(n)) < alpha;
            }
            if (seq) sequentialAlarms++;
            if (naive) naiveAlarms++;
        }

        Assert.True(sequentialAlarms < 2000 * alpha, $"sequential false alarms {sequentialAlarms}/2000");
        Assert.True(naiveAlarms > 2000 * alpha * 3, $"peeking z-test false alarms {naiveAlarms}/2000");
    }

    [Fact]
    public void SampleRatioMismatch_5100Versus4900()
    {
        // expected 5000/5000: χ² = 100²/5000 · 2 = 4; P(χ²₁ ≥ 4) = P(|Z| ≥ 2) = erfc(√2) = 0.045500263896358396
        var r = SampleRatioMismatch.Run([5100, 4900], [0.5, 0.5]);

        Assert.Equal(4, r.Statistic, 1e-12);
        Assert.Equal(0.045500263896358396, r.PValue, 1e-12);
    }

    [Fact]
    public void SampleRatioMismatch_UsesTheExpectedShares()
    {
        // a 10 % rollout seeing 1,000 of 10,000 requests is exactly on plan
        Assert.Equal(1, SampleRatioMismatch.Run([1000, 9000], [0.1, 0.9]).PValue, 1e-12);
    }
}
