using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Unit.Statistics;

/// <summary>
/// Reference values: standard normal / t / chi-squared table entries, closed forms derived by hand (quoted next
/// to each case), and Python's <c>math.erf</c>/<c>math.erfc</c>/<c>math.lgamma</c> (an independent implementation).
/// </summary>
public sealed class DistributionsTests
{
    [Theory]
    [InlineData(0.5, 0.5204998778130465)] // math.erf(0.5)
    [InlineData(1.0, 0.8427007929497149)] // math.erf(1)
    [InlineData(-1.0, -0.8427007929497149)] // erf is odd
    [InlineData(0.0, 0.0)]
    public void Erf_MatchesReference(double x, double expected) => Assert.Equal(expected, SpecialFunctions.Erf(x), 1e-13);

    [Fact]
    public void Erfc_KeepsRelativePrecisionInTheTail()
    {
        // math.erfc(3) = 2.2090496998585438e-05; 1 − erf(3) would lose most digits
        Assert.Equal(2.2090496998585438e-05, SpecialFunctions.Erfc(3), 2.2e-5 * 1e-10);
    }

    [Theory]
    [InlineData(0.5, 0.5723649429247001)] // ln √π
    [InlineData(5.0, 3.1780538303479458)] // ln 4! = ln 24
    [InlineData(0.1, 2.2527126517342055)] // math.lgamma(0.1), via the reflection branch
    [InlineData(100.0, 359.1342053695754)] // math.lgamma(100) = ln 99!
    public void LogGamma_MatchesReference(double x, double expected) => Assert.Equal(expected, SpecialFunctions.LogGamma(x), 1e-10);

    [Fact]
    public void BetaRegularized_MatchesClosedForms()
    {
        // I_x(2, 3) = Σ_{j=2..4} C(4, j) x^j (1−x)^{4−j}; at x = ½: (6 + 4 + 1)/16
        Assert.Equal(11.0 / 16, SpecialFunctions.BetaRegularized(2, 3, 0.5), 1e-13);
        // I_x(1, b) = 1 − (1 − x)^b
        Assert.Equal(1 - Math.Pow(0.7, 4), SpecialFunctions.BetaRegularized(1, 4, 0.3), 1e-13);
    }

    [Theory]
    [InlineData(1.96, 0.9750021048517795)] // table: Φ(1.96) = 0.9750
    [InlineData(-1.0, 0.15865525393145707)] // Φ(−1) = ½ erfc(1/√2)
    [InlineData(0.0, 0.5)]
    public void NormalCdf_MatchesTable(double z, double expected) => Assert.Equal(expected, Normal.Cdf(z), 1e-12);

    [Fact]
    public void NormalSurvival_IsPreciseFarOut()
    {
        // P(Z ≥ 6) = ½ erfc(6/√2) = 9.865876450377012e-10
        Assert.Equal(9.865876450377012e-10, Normal.Survival(6), 1e-19);
    }

    [Theory]
    [InlineData(2.228138851964938, 10, 0.975)] // table: t(0.975, 10) = 2.228
    [InlineData(2.015048372669157, 5, 0.95)] // table: t(0.95, 5) = 2.015
    [InlineData(1.0, 1, 0.75)] // df 1 is Cauchy: ½ + atan(1)/π
    [InlineData(1.0, 2, 0.7886751345948129)] // df 2: ½ + t / (2√(2 + t²)) = ½ + 1/(2√3)
    [InlineData(-1.0, 2, 0.2113248654051871)] // symmetry
    public void StudentTCdf_MatchesTable(double t, double df, double expected) => Assert.Equal(expected, StudentT.Cdf(t, df), 1e-10);

    [Theory]
    [InlineData(3.841458820694124, 1, 0.95)] // table: χ²(0.95, 1) = 3.841
    [InlineData(2.0, 2, 0.6321205588285577)] // df 2: 1 − e^{−x/2} = 1 − e^{−1}
    [InlineData(7.814727903251178, 3, 0.95)] // table: χ²(0.95, 3) = 7.815
    public void ChiSquaredCdf_MatchesTable(double x, double k, double expected) => Assert.Equal(expected, ChiSquared.Cdf(x, k), 1e-10);

    [Theory]
    [InlineData(0.025, 1.959963984540054)] // table: z(0.975) = 1.960
    [InlineData(0.5, 0.0)]
    [InlineData(0.9, -1.2815515655446004)] // table: z(0.10) = −1.2816
    [InlineData(1e-44, 13.9823)] // far tail (½·erfc(13.9823/√2) = 1.0e-44 by Python's math.erfc)
    public void NormalUpperQuantile_InvertsTheSurvival(double p, double expected) => Assert.Equal(expected, Normal.UpperQuantile(p), 1e-3);
}
