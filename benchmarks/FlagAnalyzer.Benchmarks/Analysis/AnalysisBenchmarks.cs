using BenchmarkDotNet.Attributes;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;

namespace FlagAnalyzer.Benchmarks.Analysis;

/// <summary>
/// Analysing one flag with 10,000 samples of history, in memory: building its window from the rows and running
/// every detector (what a cache miss or <c>POST /api/analyze</c> costs after the read), running the detectors on
/// an already-built window (the write path), and the statistical prediction. Baseline: one pass summing the
/// samples' error counts, the least any analysis of them must do.
/// </summary>
[MemoryDiagnoser, MedianColumn]
public class AnalysisBenchmarks
{
    private const int HistorySize = 10_000;
    private static readonly DateTimeOffset ChangeAt = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private List<MetricSample> _samples = null!;
    private FlagWindow _window = null!;
    private PredictionInput _input = null!;
    private readonly StatisticalPredictor _predictor = new();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _samples = Enumerable.Range(0, HistorySize).Select(i => new MetricSample
        {
            Id = i + 1, FlagId = "flg_bench", Timestamp = ChangeAt.AddMinutes(i - HistorySize / 2),
            ErrorRate = 1 + rng.NextDouble() * 0.4 - 0.2, LatencyP50 = 100 + rng.NextDouble() * 10, LatencyP99 = 400 + rng.NextDouble() * 50,
            RequestCount = 1000, ConversionRate = 5 + rng.NextDouble() * 0.5, UserSatisfactionScore = 4.2,
        }).ToList();
        _window = FlagWindow.Build(ChangeAt, _samples);
        var before = new Flag { Id = "flg_bench", Name = "bench", TargetEnvironment = FlagEnvironments.Production };
        var after = before with { Enabled = true, RolloutPercentage = 25 };
        var change = new FlagChange { Id = "chg_bench", FlagId = "flg_bench", FlagName = "bench", ChangeType = ChangeType.Enabled, Timestamp = ChangeAt };
        _input = new PredictionInput(before, after, change, _samples, [], [], ChangeAt.AddMinutes(HistorySize / 2));
    }

    [Benchmark(Baseline = true, Description = "sum error counts of 10,000 samples")]
    public double SumSamples()
    {
        double errors = 0;
        foreach (var s in _samples) errors += s.ErrorRate * s.RequestCount;
        return errors;
    }

    [Benchmark(Description = "build window from 10,000 samples + detect")]
    public FlagAnalysis BuildAndDetect() => RegressionDetector.Analyze(FlagWindow.Build(ChangeAt, _samples), 25);

    [Benchmark(Description = "detect on a built 10,000-sample window")]
    public FlagAnalysis DetectOnWindow() => RegressionDetector.Analyze(_window, 25);

    [Benchmark(Description = "statistical prediction, 10,000 samples")]
    public Assessment Predict() => _predictor.Predict(_input);
}
