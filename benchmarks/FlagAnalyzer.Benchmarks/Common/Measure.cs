namespace FlagAnalyzer.Benchmarks.Common;

/// <summary>Small helpers every load scenario needs: options, percentiles, the machine's load.</summary>
public static class Measure
{
    public static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }

    /// <summary>Nearest-rank percentile of an ascending array (<paramref name="q"/> in 0..1); NaN when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1)];

    /// <summary>"median (range min–max)" of a few rounds, each number in <paramref name="format"/> (the upper median for an even count).</summary>
    public static string MedianAndRange(IEnumerable<double> xs, string format)
    {
        var l = xs.Order().ToList();
        return $"{l[l.Count / 2].ToString(format)} (range {l[0].ToString(format)}–{l[^1].ToString(format)})";
    }

    /// <summary>The 1/5/15-minute load averages: the 2 cores are shared, so every figure is printed with them.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
