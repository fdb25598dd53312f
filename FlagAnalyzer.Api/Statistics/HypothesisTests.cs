namespace FlagAnalyzer.Api.Statistics;

/// <summary>Which side of the null the alternative lies on, for the current group against the baseline.</summary>
public enum Tail { Greater, Less, TwoSided }

/// <summary>A test's statistic, its p-value, and the estimated effect (current − baseline).</summary>
public readonly record struct TestResult(double Statistic, double PValue, double Estimate)
{
    public static readonly TestResult NotApplicable = new(double.NaN, 1, double.NaN);

    public bool IsSignificant(double alpha) => PValue < alpha;
}

internal static class Tails
{
    public static double FromNormal(double z, Tail tail) => tail switch
    {
        Tail.Greater => Normal.Survival(z),
        Tail.Less => Normal.Cdf(z),
        _ => Math.Min(1, 2 * Normal.Survival(Math.Abs(z))),
    };
}

/// <summary>
/// Pooled two-proportion z-test (e.g. error counts = errorRate/100 × requestCount). Counts may be fractional
/// because they are reconstructed from rates.
/// </summary>
public static class TwoProportionTest
{
    public static TestResult Run(double baselineEvents, double baselineTrials, double currentEvents, double currentTrials, Tail tail)
    {
        if (baselineTrials <= 0 || currentTrials <= 0) return TestResult.NotApplicable;
        var p1 = baselineEvents / baselineTrials;
        var p2 = currentEvents / currentTrials;
        var pooled = (baselineEvents + currentEvents) / (baselineTrials + currentTrials);
        var se = Math.Sqrt(pooled * (1 - pooled) * (1 / baselineTrials + 1 / currentTrials));
        if (se <= 0) return new TestResult(0, 1, p2 - p1);
        var z = (p2 - p1) / se;
        return new TestResult(z, Tails.FromNormal(z, tail), p2 - p1);
    }
}

/// <summary>Welch's unequal-variance t-test with Welch–Satterthwaite degrees of freedom.</summary>
public static class WelchTest
{
    public static TestResult Run(double baselineMean, double baselineVariance, double baselineCount,
        double currentMean, double currentVariance, double currentCount, Tail tail)
    {
        if (baselineCount < 2 || currentCount < 2) return TestResult.NotApplicable;
        var a = baselineVariance / baselineCount;
        var b = currentVariance / currentCount;
        var diff = currentMean - baselineMean;
        if (a + b <= 0) return new TestResult(0, diff == 0 ? 1 : 0, diff);
        var t = diff / Math.Sqrt(a + b);
        var df = (a + b) * (a + b) / (a * a / (baselineCount - 1) + b * b / (currentCount - 1));
        var p = tail switch
        {
            Tail.Greater => StudentT.Survival(t, df),
            Tail.Less => StudentT.Cdf(t, df),
            _ => Math.Min(1, 2 * StudentT.Survival(Math.Abs(t), df)),
        };
        return new TestResult(t, p, diff);
    }

    public static TestResult Run(IReadOnlyList<double> baseline, IReadOnlyList<double> current, Tail tail)
    {
        var (mb, vb) = MeanVariance(baseline);
        var (mc, vc) = MeanVariance(current);
        return Run(mb, vb, baseline.Count, mc, vc, current.Count, tail);
    }

    private static (double Mean, double Variance) MeanVariance(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) return (double.NaN, double.NaN);
        var mean = xs.Average();
        var ss = xs.Sum(x => (x - mean) * (x - mean));
        return (mean, xs.Count > 1 ? ss / (xs.Count - 1) : 0);
    }
}

/// <summary>
/// Mann-Whitney U on the current group against the baseline, normal approximation with tie correction and a
/// continuity correction of ½ (SciPy's <c>mannwhitneyu(current, baseline, method="asymptotic")</c>).
/// </summary>
public static class MannWhitneyU
{
    public static TestResult Run(IReadOnlyList<double> baseline, IReadOnlyList<double> current, Tail tail)
    {
        var b = baseline.ToArray();
        var c = current.ToArray();
        Array.Sort(b);
        Array.Sort(c);
        return RunSorted(b, c, tail);
    }

    /// <summary>Both inputs sorted ascending: one merge pass, O(n + m).</summary>
    public static TestResult RunSorted(ReadOnlySpan<double> baseline, ReadOnlySpan<double> current, Tail tail)
    {
        double n1 = current.Length, n2 = baseline.Length;
        if (n1 == 0 || n2 == 0) return TestResult.NotApplicable;
        double rankSumCurrent = 0, tieTerm = 0;
        int i = 0, j = 0, rank = 0;
        while (i < current.Length || j < baseline.Length)
        {
            var v = j >= baseline.Length || (i < current.Length && current[i] <= baseline[j]) ? current[i] : baseline[j];
            int inCurrent = 0, inBaseline = 0;
            while (i < current.Length && current[i] == v) { i++; inCurrent++; }
            while (j < baseline.Length && baseline[j] == v) { j++; inBaseline++; }
            double t = inCurrent + inBaseline;
            var averageRank = rank + (t + 1) / 2;
            rankSumCurrent += inCurrent * averageRank;
            tieTerm += t * t * t - t;
            rank += (int)t;
        }
        var u1 = rankSumCurrent - n1 * (n1 + 1) / 2;
        var u2 = n1 * n2 - u1;
        var n = n1 + n2;
        var sigma = Math.Sqrt(n1 * n2 / 12 * (n + 1 - tieTerm / (n * (n - 1))));
        var estimate = u1 / (n1 * n2); // P(current > baseline) + ½ P(tie): the common-language effect size
        if (sigma <= 0) return new TestResult(u1, 1, estimate);
        var mu = n1 * n2 / 2;
        var p = tail switch
        {
            Tail.Greater => Normal.Survival((u1 - mu - 0.5) / sigma),
            Tail.Less => Normal.Survival((u2 - mu - 0.5) / sigma),
            _ => Math.Min(1, 2 * Normal.Survival((Math.Max(u1, u2) - mu - 0.5) / sigma)),
        };
        return new TestResult(u1, p, estimate);
    }
}

/// <summary>
/// The mixture sequential probability ratio test (mSPRT; Johari, Pekelis &amp; Walsh, "Always valid inference",
/// 2017) for a difference θ̂ with variance V under a normal mixing prior N(0, τ²):
/// Λ = √(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²))). Rejecting when Λ ≥ 1/α keeps the false-alarm rate at
/// most α however often the data are looked at. The mixture is two-sided, so using it for one side only
/// (requiring θ̂ in the harmful direction) is conservative.
/// </summary>
public static class SequentialTest
{
    public static double LikelihoodRatio(double estimate, double variance, double tauSquared)
    {
        if (variance <= 0 || tauSquared <= 0) return 1;
        var exponent = tauSquared * estimate * estimate / (2 * variance * (variance + tauSquared));
        return Math.Sqrt(variance / (variance + tauSquared)) * Math.Exp(Math.Min(exponent, 700));
    }

    /// <summary>The always-valid p-value of this look, min(1, 1/Λ), with Λ set to 1 when θ̂ is on the wrong side.</summary>
    public static TestResult Run(double estimate, double variance, double tauSquared, Tail tail)
    {
        var wrongSide = tail switch { Tail.Greater => estimate <= 0, Tail.Less => estimate >= 0, _ => false };
        var lr = wrongSide ? 1 : LikelihoodRatio(estimate, variance, tauSquared);
        return new TestResult(lr, Math.Min(1, 1 / lr), estimate);
    }
}

/// <summary>Sample-ratio mismatch: a chi-squared goodness-of-fit test of observed counts against expected shares.</summary>
public static class SampleRatioMismatch
{
    public static TestResult Run(IReadOnlyList<double> observed, IReadOnlyList<double> expectedShares)
    {
        if (observed.Count != expectedShares.Count || observed.Count < 2) throw new ArgumentException("one expected share per observed count, at least two");
        var total = observed.Sum();
        var shareSum = expectedShares.Sum();
        if (total <= 0 || shareSum <= 0) return TestResult.NotApplicable;
        double chi2 = 0;
        for (var i = 0; i < observed.Count; i++)
        {
            var expected = total * expectedShares[i] / shareSum;
            if (expected <= 0) return TestResult.NotApplicable;
            chi2 += (observed[i] - expected) * (observed[i] - expected) / expected;
        }
        return new TestResult(chi2, ChiSquared.Survival(chi2, observed.Count - 1), observed[0] / total);
    }
}
