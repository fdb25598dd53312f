using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Evaluation.Exposures;

public sealed record VariantExposure(string Variant, long Count);

public sealed record MinuteExposure(DateTimeOffset Minute, string Variant, long Count);

/// <summary>
/// The served split against the promised one: a chi-squared sample-ratio test of the default and off variants'
/// exposures since the flag last changed, against its rollout percentage.
/// </summary>
public sealed record ExposureSrm(string DefaultVariant, string OffVariant, double ExpectedDefaultShare, long DefaultCount, long OffCount,
    double ChiSquared, double PValue, bool Mismatch, DateTimeOffset Since);

public sealed record FlagExposures(string FlagId, string FlagKey, DateTimeOffset From, IReadOnlyList<VariantExposure> Variants,
    IReadOnlyList<MinuteExposure> Series, ExposureSrm? Srm)
{
    /// <summary>The environment the counts are of (issue 26: <c>?environment=</c>, default the flag's home).</summary>
    public string Environment { get; init; } = "";
}

public static class ExposuresApi
{
    public const int MaxMinutes = 7 * 24 * 60;

    public sealed record ExposureServices(FlagReader Reader, Db Db, ExposureCounter Counter, IFlagSnapshot Snapshots, TimeProvider Clock);

    public static IEndpointRouteBuilder MapExposuresApi(this IEndpointRouteBuilder app)
    {
        // access: viewer
        app.MapGet("/api/flags/{idOrName}/exposures", GetExposures).WithTags("Flags")
            .WithName("GetFlagExposures").WithSummary("Served variants per minute in ?environment= (default the flag's home), totals, and a sample-ratio check against the rollout.");
        return app;
    }

    public static async Task<Results<Ok<FlagExposures>, ValidationProblem, ProblemHttpResult>> GetExposures(
        [AsParameters] ExposureServices s, string idOrName, int? minutes, HttpContext http, CancellationToken ct)
    {
        var span = minutes ?? 24 * 60;
        if (span is < 1 or > MaxMinutes) return Problems.Invalid("minutes", $"must be between 1 and {MaxMinutes}");
        var flag = await s.Reader.GetAsync(idOrName, ct);
        if (flag is null) return Problems.NotFound("Flag", idOrName);

        var now = s.Clock.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var from = now - (span - 1) * 60_000L;
        List<(ExposureKey Key, long Count)> rows;
        var environment = http.ActingEnvironment(flag.TargetEnvironment);
        await using (var conn = await s.Db.OpenAsync(ct))
            rows = await ExposureStore.ListAsync(conn, flag.Id, environment, from, ct);
        var merged = rows.Concat(s.Counter.Pending(flag.Id, environment).Where(p => p.Key.Minute >= from))
            .GroupBy(r => (r.Key.Minute, r.Key.Variant))
            .Select(g => (g.Key.Minute, g.Key.Variant, Count: g.Sum(x => x.Count)))
            .OrderBy(r => r.Minute).ThenBy(r => r.Variant, StringComparer.Ordinal)
            .ToList();

        var series = merged.Select(r => new MinuteExposure(Time.FromMs(r.Minute), r.Variant, r.Count)).ToList();
        var totals = merged.GroupBy(r => r.Variant).Select(g => new VariantExposure(g.Key, g.Sum(x => x.Count)))
            .OrderByDescending(v => v.Count).ToList();
        var compiled = s.Snapshots.Current.ByKey.Values.FirstOrDefault(f => f.FlagId == flag.Id);
        // the promised split is the compiled configuration's: checked only against the environment it is of
        var srm = compiled is null || compiled.Environment != environment ? null : Srm(compiled, merged, flag.UpdatedAt);
        return TypedResults.Ok(new FlagExposures(flag.Id, compiled?.Key ?? flag.Name, Time.FromMs(from), totals, series, srm) { Environment = environment });
    }

    /// <summary>Only for a plain split (enabled, no targeting, 0 &lt; rollout &lt; 100 %), counting minutes since the flag last changed.</summary>
    private static ExposureSrm? Srm(CompiledFlag f, IEnumerable<(long Minute, string Variant, long Count)> rows, DateTimeOffset since)
    {
        if (!f.Enabled || f.Targeting is not null || f.RolloutThreshold <= 0 || f.RolloutThreshold >= Bucketing.RolloutBuckets
            || f.DefaultVariant == f.OffVariant) return null;
        var sinceMinute = since.ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var after = rows.Where(r => r.Minute >= sinceMinute).ToList();
        var on = after.Where(r => r.Variant == f.DefaultVariant).Sum(r => r.Count);
        var off = after.Where(r => r.Variant == f.OffVariant).Sum(r => r.Count);
        if (on + off == 0) return null;
        var share = f.RolloutThreshold / (double)Bucketing.RolloutBuckets;
        var t = SampleRatioMismatch.Run([on, off], [share, 1 - share]);
        return new ExposureSrm(f.DefaultVariant, f.OffVariant, share, on, off, t.Statistic, t.PValue, t.PValue < DetectionRules.SrmAlpha,
            Time.FromMs(sinceMinute));
    }
}
