namespace FlagAnalyzer.Tests.Api.Telemetry;

/// <summary>
/// The traffic the real-exporter tests send (node/send-spans.mjs follows the same plan): 6 one-second intervals, each
/// with 200 requests of the control variant <c>off</c> and 200 of the treatment <c>on</c>; 2 % of requests fail, or
/// 6 % of the treatment's with the regression. Every request is a server span with a child span that carries the
/// <c>feature_flag.evaluation</c> event.
/// </summary>
internal static class Traffic
{
    public const int Intervals = 6;
    public const int PerVariant = 200;
    public static readonly string[] Variants = ["off", "on"];

    /// <summary>Where the first interval's requests end: 200 ms into the interval after the next second, so none straddle a boundary.</summary>
    public static DateTimeOffset FirstEnd(DateTimeOffset now) =>
        DateTimeOffset.FromUnixTimeMilliseconds((now.ToUnixTimeMilliseconds() / 1000 + 2) * 1000 + 200);

    public static IEnumerable<(string Variant, DateTimeOffset End, double LatencyMs, bool Failing)> Requests(DateTimeOffset firstEnd, bool regression)
    {
        for (var k = 0; k < Intervals; k++)
            foreach (var variant in Variants)
                for (var i = 0; i < PerVariant; i++)
                    yield return (variant, firstEnd.AddMilliseconds(k * 1000 + i % 100), 20 + i % 7,
                        variant == "on" && regression ? i % 50 < 3 : i % 50 < 1);
    }
}
