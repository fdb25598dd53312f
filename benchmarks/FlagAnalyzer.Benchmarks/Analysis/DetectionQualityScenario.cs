using System.Globalization;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Metrics;
using static FlagAnalyzer.Api.Statistics.DetectionRules;

namespace FlagAnalyzer.Benchmarks.Analysis;

/// <summary>
/// Scores the statistical detector and the seed's plain threshold rule on the same seeded streams: the share
/// of noise-only streams that raise anything, the share of regressions caught within 5 samples (and at all,
/// within 30), and the median number of samples after the change until the first alarm.
/// <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- detection-quality [streams]</c>
/// </summary>
public sealed class DetectionQualityScenario : IScenario
{
    public string Name => "detection-quality";

    public static readonly StreamSpec[] Specs =
    [
        new("noise only", 50),
        new("noise only", 200),
        new("noise only", 1_000),
        new("noise only", 10_000),
        new("errors ×1.5", 1_000, ErrorFactor: 1.5, Expected: MetricNames.ErrorRate),
        new("errors ×2", 1_000, ErrorFactor: 2, Expected: MetricNames.ErrorRate),
        new("errors ×2", 10_000, ErrorFactor: 2, Expected: MetricNames.ErrorRate),
        new("errors ×5", 1_000, ErrorFactor: 5, Expected: MetricNames.ErrorRate),
        new("errors ×2, low traffic", 50, ErrorFactor: 2, Expected: MetricNames.ErrorRate),
        new("errors ×5, low traffic", 50, ErrorFactor: 5, Expected: MetricNames.ErrorRate),
        new("P50 ×2 (exactly the +100% bar)", 1_000, P50Factor: 2, Expected: MetricNames.LatencyP50),
        new("P50 ×3", 1_000, P50Factor: 3, Expected: MetricNames.LatencyP50),
        new("P50 ×3, low traffic", 50, P50Factor: 3, Expected: MetricNames.LatencyP50),
        new("P99 ×2.5", 1_000, P99Factor: 2.5, Expected: MetricNames.LatencyP99),
        new("conversion −20%", 1_000, ConversionFactor: 0.8, Expected: MetricNames.ConversionRate),
        new("conversion −20%", 10_000, ConversionFactor: 0.8, Expected: MetricNames.ConversionRate),
    ];

    public sealed record Score(string Detector, StreamSpec Spec, int Streams, int Alarmed, int CaughtIn5, double? MedianSamples);

    public Task<int> RunAsync(string[] args)
    {
        var streams = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 1_000;
        var scores = Run(streams);
        Console.WriteLine($"{streams} seeded streams per row; {SyntheticStreams.BaselineSamples} samples before the change, {SyntheticStreams.AfterSamples} after; baseline errors {SyntheticStreams.ErrorRate:P0}, conversion {SyntheticStreams.ConversionRate:P0}.");
        Console.WriteLine();
        Console.WriteLine("| stream | req/sample | detector | noise: streams raising anything | caught ≤ 5 samples | caught ≤ 30 | median samples to detect |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|");
        foreach (var s in scores)
        {
            var noise = s.Spec.Expected is null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Spec.Name} | {s.Spec.RequestsPerSample:N0} | {s.Detector} | {(noise ? Pct(s.Alarmed, s.Streams) : "")} | {(noise ? "" : Pct(s.CaughtIn5, s.Streams))} | {(noise ? "" : Pct(s.Alarmed, s.Streams))} | {(noise ? "" : s.MedianSamples?.ToString("0.#", CultureInfo.InvariantCulture) ?? "–")} |"));
        }
        var noiseFail = scores.Where(s => s.Detector == "statistical" && s.Spec.Expected is null).Any(s => s.Alarmed > s.Streams * 0.01);
        var spike = scores.Where(s => s.Detector == "statistical" && s.Spec.Name == "errors ×2" && s.Spec.RequestsPerSample >= 1_000).ToList();
        var spikeFail = spike.Any(s => s.CaughtIn5 < s.Streams * 0.95);
        Console.WriteLine();
        Console.WriteLine($"target ≤ 1% noise streams alarmed: {(noiseFail ? "MISSED" : "met")}; target ≥ 95% of 2× error spikes at ≥ 1,000 req/sample within 5 samples: {(spikeFail ? "MISSED" : "met")}");
        return Task.FromResult(noiseFail || spikeFail ? 1 : 0);
    }

    private static string Pct(int k, int n) => string.Create(CultureInfo.InvariantCulture, $"{100.0 * k / n:0.0}%");

    public static List<Score> Run(int streams)
    {
        var scores = new List<Score>();
        foreach (var spec in Specs)
        {
            var ours = new List<int?>();
            var seed = new List<int?>();
            for (var i = 0; i < streams; i++)
            {
                var samples = SyntheticStreams.Generate(spec, seed: 7919 * i + spec.GetHashCode() % 1000 + spec.RequestsPerSample);
                ours.Add(FirstAlarm(samples, spec, Statistical));
                seed.Add(FirstAlarm(samples, spec, SeedRule));
            }
            scores.Add(Summarize("statistical", spec, ours));
            scores.Add(Summarize("seed rule", spec, seed));
        }
        return scores;
    }

    private static Score Summarize(string detector, StreamSpec spec, List<int?> firsts)
    {
        var hits = firsts.Where(f => f is not null).Select(f => f!.Value).Order().ToList();
        double? median = hits.Count == 0 ? null : hits.Count % 2 == 1 ? hits[hits.Count / 2] : (hits[hits.Count / 2 - 1] + hits[hits.Count / 2]) / 2.0;
        return new Score(detector, spec, firsts.Count, hits.Count, hits.Count(h => h <= 5), median);
    }

    /// <summary>Feeds the stream sample by sample; returns how many samples after the change the first alarm came (1-based).</summary>
    private static int? FirstAlarm(List<MetricSample> samples, StreamSpec spec, Func<FlagWindow, IEnumerable<string>> alarms)
    {
        var w = new FlagWindow(SyntheticStreams.ChangeAt);
        var after = 0;
        foreach (var s in samples)
        {
            w.Add(s);
            if (s.Timestamp < SyntheticStreams.ChangeAt) continue;
            after++;
            var raised = alarms(w).ToList();
            // a noise stream fails on any alarm; a regression stream counts only the metric that regressed
            if (spec.Expected is null ? raised.Count > 0 : raised.Contains(spec.Expected)) return after;
        }
        return null;
    }

    private static IEnumerable<string> Statistical(FlagWindow w)
    {
        var analysis = RegressionDetector.Analyze(w);
        var r = AnomalyReconciler.Reconcile("bench", analysis, [], null, SyntheticStreams.ChangeAt, () => "anm");
        return r.Raise.Select(a => a.Metric);
    }

    /// <summary>The seed: the newest sample against the baseline average — errors +50 %, P50 +100 %, conversion −10 %.</summary>
    private static IEnumerable<string> SeedRule(FlagWindow w)
    {
        var latest = w.Recent.Last();
        var b = w.Before;
        if (latest.ErrorRate / 100 > b.ErrorRate * (1 + ErrorIncrease)) yield return MetricNames.ErrorRate;
        if (latest.LatencyP50 > b.P50.Mean * (1 + LatencyIncrease)) yield return MetricNames.LatencyP50;
        if (latest.LatencyP99 > b.P99.Mean * (1 + LatencyIncrease)) yield return MetricNames.LatencyP99;
        if (latest.ConversionRate / 100 < b.ConversionRate * (1 - ConversionDrop)) yield return MetricNames.ConversionRate;
    }
}
