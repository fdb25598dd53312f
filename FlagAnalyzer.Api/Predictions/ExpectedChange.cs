using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Api.Predictions;

/// <summary>An expected relative change in percent with its 95 % interval [Low, High].</summary>
public readonly record struct ChangeEstimate(double Percent, double Low, double High);

/// <summary>
/// What an open regression means for a change of exposure. The anomaly compared the flag's traffic after a change
/// with before it, so its rise Δ (percent of baseline) is carried by the exposed share: widening from exposure
/// e₀ to e₁ scales Δ by e₁/e₀ (e₀ = 0: carried unchanged) — except that exposed traffic cannot exceed the metric's
/// ceiling (an error rate of 100 %), which caps the result, so a spike is not extrapolated past what is possible.
/// The interval comes from the anomaly's own uncertainty: its p-value (the weakest of its one-sided tests) gives
/// z = Φ⁻¹(1 − p), the standard error of Δ is Δ/z, and Δ ± 1.96·Δ/z (not crossing zero: the regression is
/// confirmed) goes through the same scaling and cap. Pure.
/// </summary>
public static class ExpectedChange
{
    private const double Z95 = 1.96;

    public static ChangeEstimate FromRegression(Anomaly a, double exposureBefore, double exposureAfter, double? ceiling)
    {
        var scale = exposureBefore > 0 ? exposureAfter / exposureBefore : exposureAfter > 0 ? 1 : 0;
        var d = a.ChangePercent;
        var z = Normal.UpperQuantile(Math.Clamp(a.PValue, 0, 1));
        var half = z > 0 ? Z95 * Math.Abs(d) / z : Math.Abs(d);
        var low = d >= 0 ? Math.Max(0, d - half) : d - half;
        var high = d >= 0 ? d + half : Math.Min(0, d + half);
        // the most the exposed share can add: (ceiling − baseline) / baseline, in percent, times the exposure
        double? cap = ceiling is { } c && a.BaselineValue > 0 ? (c - a.BaselineValue) / a.BaselineValue * 100 * exposureAfter : null;
        double Scaled(double v) => cap is { } m ? Math.Min(v * scale, m) : v * scale;
        return new ChangeEstimate(Scaled(d), Scaled(low), Scaled(high));
    }

    /// <summary>No open regression: no change expected, within the flag's usual swing (relative SD) scaled by
    /// the share of traffic newly exposed, ±1.96 SD.</summary>
    public static (double Low, double High) UsualSwing(double volatility, double step)
    {
        var half = Z95 * volatility * 100 * Math.Max(0, step);
        return (-half, half);
    }
}
