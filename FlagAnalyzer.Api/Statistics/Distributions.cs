namespace FlagAnalyzer.Api.Statistics;

/// <summary>The standard normal distribution.</summary>
public static class Normal
{
    public static double Cdf(double z) => 0.5 * SpecialFunctions.Erfc(-z / Math.Sqrt(2));

    /// <summary>P(Z ≥ z), precise far into the upper tail.</summary>
    public static double Survival(double z) => 0.5 * SpecialFunctions.Erfc(z / Math.Sqrt(2));

    /// <summary>The z with P(Z ≥ z) = p (inverse survival), by bisection on <see cref="Survival"/>; p at or below
    /// the double range's floor gives 38, where the tail underflows.</summary>
    public static double UpperQuantile(double p)
    {
        if (p >= 1) return double.NegativeInfinity;
        double lo = -38, hi = 38;
        for (var i = 0; i < 100; i++)
        {
            var mid = (lo + hi) / 2;
            if (Survival(mid) > p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }
}

/// <summary>Student's t distribution with <c>df</c> degrees of freedom (df may be fractional, as in Welch's test).</summary>
public static class StudentT
{
    /// <summary>P(T ≥ t) = ½ I_{df/(df+t²)}(df/2, ½) for t ≥ 0.</summary>
    public static double Survival(double t, double df)
    {
        if (double.IsNaN(t) || df <= 0) return double.NaN;
        if (double.IsPositiveInfinity(t)) return 0;
        if (double.IsNegativeInfinity(t)) return 1;
        var tail = 0.5 * SpecialFunctions.BetaRegularized(df / 2, 0.5, df / (df + t * t));
        return t >= 0 ? tail : 1 - tail;
    }

    public static double Cdf(double t, double df) => 1 - Survival(t, df);
}

/// <summary>The chi-squared distribution with <c>k</c> degrees of freedom.</summary>
public static class ChiSquared
{
    public static double Cdf(double x, double k) => SpecialFunctions.GammaP(k / 2, x / 2);

    /// <summary>P(X ≥ x) = Q(k/2, x/2).</summary>
    public static double Survival(double x, double k) => SpecialFunctions.GammaQ(k / 2, x / 2);
}
