using System.Diagnostics;
using System.Globalization;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Benchmarks.Analysis;

namespace FlagAnalyzer.Benchmarks.Rollouts;

/// <summary>
/// Guarded-rollout quality in simulated time: seeded plans (default stages 1 → 5 → 25 → 50 → 100 %, five minutes and
/// 1,000 requests per cohort each) run through the real <see cref="StageMachine"/>, ticking once a simulated minute.
/// Each minute each cohort sees about 1,000 requests (2,000 ± 20 % split binomially 50/50, so the sample-ratio check
/// expects 50 %), baseline errors 1 %, latency noise as in the detection benchmark. A bad variant doubles the errors.
/// The optional second argument shortens every stage's minimum duration to that many minutes (e.g. 1), where waiting for
/// each guardrail's comparison (three samples per cohort at the stage) binds and the time it costs shows.
/// <c>dotnet run -c Release --project benchmarks/FlagAnalyzer.Benchmarks -- rollout-quality [plans] [stageMinutes]</c>
/// </summary>
public sealed class RolloutQualityScenario : IScenario
{
    public string Name => "rollout-quality";

    public const int MaxMinutes = 180;
    public const double ErrorRate = 0.01;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public sealed record Outcome(RolloutState State, int Minutes, double PercentageAtEnd, int StageAtEnd, string? Reason = null);

    public Task<int> RunAsync(string[] args)
    {
        var plans = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 1_000;
        var stages = args.Length > 1 && int.TryParse(args[1], out var m) && m >= 0
            ? RolloutPlan.DefaultStages.Select(s => s with { MinDurationSeconds = s.MinDurationSeconds > 0 ? m * 60 : 0 }).ToList()
            : RolloutPlan.DefaultStages;
        var watch = Stopwatch.StartNew();
        var bad = Enumerable.Range(0, plans).Select(i => Simulate(2.0, seed: 1_000_000 + i, stages)).ToList();
        var good = Enumerable.Range(0, plans).Select(i => Simulate(1.0, seed: 2_000_000 + i, stages)).ToList();
        watch.Stop();

        var badCaught = bad.Count(o => o.State == RolloutState.RolledBack && o.PercentageAtEnd < 25);
        var badStages = bad.Where(o => o.State == RolloutState.RolledBack).GroupBy(o => o.PercentageAtEnd).OrderBy(g => g.Key)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key:0.##} %: {g.Count()}"));
        var goodFailed = good.Count(o => o.State != RolloutState.Completed);
        var goodRolledBack = good.Count(o => o.State == RolloutState.RolledBack);
        var goodPaused = good.Count(o => o.State == RolloutState.Paused);
        var completedMinutes = good.Where(o => o.State == RolloutState.Completed).Select(o => o.Minutes).Order().ToList();
        var median = completedMinutes.Count > 0 ? completedMinutes[completedMinutes.Count / 2] : double.NaN;
        var floor = stages.Take(stages.Count - 1).Sum(s => s.MinDurationSeconds) / 60.0;
        var p90 = completedMinutes.Count > 0 ? completedMinutes[(int)(completedMinutes.Count * 0.9)] : double.NaN;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{plans:N0} plans per variant, stages 1 → 5 → 25 → 50 → 100 % with {stages[0].MinDurationSeconds / 60.0:0.#} min and 1,000 requests per cohort each, ~1,000 requests per minute per cohort, baseline errors {ErrorRate:P0}, one tick per simulated minute, at most {MaxMinutes} minutes; {watch.Elapsed.TotalSeconds:0.0} s wall clock."));
        Console.WriteLine();
        Console.WriteLine("| variant | rolled back before 25 % | rolled back | paused | stuck (still running) | completed | median minutes to 100 % | waits-only plan |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        Row("bad (errors ×2)", bad, badCaught, median: null, floor);
        Row("harmless", good, null, median, floor);
        Console.WriteLine();
        Console.WriteLine($"bad variants rolled back at: {string.Join(", ", badStages)}");
        Console.WriteLine($"paused, why: bad {Pauses(bad)}; harmless {Pauses(good)}");
        var badOk = badCaught >= plans * 0.99;
        var goodOk = goodFailed <= plans * 0.01;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"target ≥ 99 % of bad variants rolled back before 25 %: {badCaught * 100.0 / plans:0.0} % ({(badOk ? "met" : "MISSED")}); " +
            $"target ≤ 1 % of harmless ones rolled back or stuck: {goodFailed * 100.0 / plans:0.0} % — {goodRolledBack} rolled back, {goodPaused} paused ({(goodOk ? "met" : "MISSED")}); " +
            $"median time to 100 %: {median:0} min (90th percentile {p90:0}) vs {floor:0} min for a plan that only waits (ratio {median / floor:0.00})."));
        return Task.FromResult(badOk && goodOk ? 0 : 1);
    }

    private static void Row(string name, List<Outcome> os, int? caught, double? median, double floor)
    {
        int Count(RolloutState s) => os.Count(o => o.State == s);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {(caught is { } c ? Pct(c, os.Count) : "")} | {Pct(Count(RolloutState.RolledBack), os.Count)} | {Pct(Count(RolloutState.Paused), os.Count)} | {Pct(Count(RolloutState.Running), os.Count)} | {Pct(Count(RolloutState.Completed), os.Count)} | {(median is { } m ? m.ToString("0", CultureInfo.InvariantCulture) : "")} | {(median is null ? "" : floor.ToString("0", CultureInfo.InvariantCulture))} |"));
    }

    /// <summary>The paused plans by the kind of reason the stage machine gave.</summary>
    private static string Pauses(List<Outcome> os)
    {
        var kinds = os.Where(o => o.State == RolloutState.Paused).GroupBy(o => o.Reason switch
        {
            { } r when r.Contains("sample-ratio mismatch") => "sample-ratio mismatch",
            { } r when r.Contains("not significant yet") => "inconclusive metric",
            { } r when r.Contains("short of evidence") => "short of evidence",
            { } r when r.Contains("no traffic") => "no traffic",
            _ => "other",
        }).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}: {g.Count()}").ToList();
        return kinds.Count == 0 ? "none" : string.Join(", ", kinds);
    }

    private static string Pct(int k, int n) => string.Create(CultureInfo.InvariantCulture, $"{k * 100.0 / n:0.0} %");

    /// <summary>One plan, minute by minute, until it leaves the running state or <see cref="MaxMinutes"/> pass.</summary>
    public static Outcome Simulate(double errorFactor, int seed, IReadOnlyList<RolloutStage>? stages = null)
    {
        var rng = new Random(seed);
        var plan = new RolloutPlan
        {
            Id = "rol_bench", FlagId = "bench", Stages = stages ?? RolloutPlan.DefaultStages, State = RolloutState.Running, StartedAt = Start, StageStartedAt = Start,
        };
        var samples = new List<MetricSample>();
        var minute = 0;
        while (plan.State == RolloutState.Running && minute < MaxMinutes)
        {
            minute++;
            var now = Start.AddMinutes(minute);
            var total = (int)Math.Round(2_000 * (0.8 + 0.4 * rng.NextDouble()));
            var treatment = SyntheticStreams.Binomial(rng, total, 0.5);
            samples.Add(Sample(rng, samples.Count, now, Cohort.Treatment, treatment, ErrorRate * errorFactor));
            samples.Add(Sample(rng, samples.Count, now, Cohort.Control, total - treatment, ErrorRate));
            var d = StageMachine.Decide(plan, now, new RolloutEvidence(samples) { ExpectedTreatmentShare = 0.5 });
            plan = StageMachine.Next(plan, d, now);
        }
        return new Outcome(plan.State, minute, plan.Stage.Percentage, plan.CurrentStage, plan.Reason);
    }

    private static MetricSample Sample(Random rng, int index, DateTimeOffset minuteEnd, Cohort cohort, int n, double errorRate)
    {
        var errors = SyntheticStreams.Binomial(rng, n, errorRate);
        var spread = 0.04 + 0.5 / Math.Sqrt(Math.Max(1, n));
        var p50 = SyntheticStreams.P50 * Math.Exp(spread * SyntheticStreams.Gaussian(rng));
        return new MetricSample
        {
            Id = index + 1,
            FlagId = "bench",
            Timestamp = minuteEnd.AddSeconds(-1),
            Cohort = cohort,
            ErrorRate = n > 0 ? 100.0 * errors / n : 0,
            LatencyP50 = p50,
            LatencyP99 = Math.Max(p50, SyntheticStreams.P99 * Math.Exp(1.5 * spread * SyntheticStreams.Gaussian(rng))),
            RequestCount = n,
        };
    }
}
