using System.Globalization;

namespace FlagAnalyzer.Api.Statistics;

/// <summary>One way to write a p-value everywhere: below 1e-10 it is "p &lt; 1e-10" (the tail is beyond what the
/// data can vouch for, and doubles underflow to 0 there), below 0.0001 in scientific notation, else four decimals.</summary>
public static class PValueText
{
    public const double Floor = 1e-10;

    public static string Format(double p) =>
        p < Floor ? "p < 1e-10"
        : p < 1e-4 ? string.Create(CultureInfo.InvariantCulture, $"p = {p:0.0e+0}")
        : string.Create(CultureInfo.InvariantCulture, $"p = {p:0.####}");
}
