using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlagAnalyzer.Api.Metrics;

public sealed record MetricsServices(Db Db, IFlagIds Flags, MetricsService Service, TimeProvider Clock);

public static class MetricsApi
{
    public const int MaxBatch = 10_000;
    /// <summary>Room for <see cref="MaxBatch"/> samples with every field set (about 2.1 MB compact, 2.9 MB indented).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;
    /// <summary>Clock skew allowed for client timestamps.</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);
    public const double MaxLatencyMs = 3_600_000;
    public const int MaxVariantLength = 100;

    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/metrics", RecordMetrics).WithTags("Metrics").Accepts<MetricSampleRequest>("application/json")
            .WithName("RecordMetrics").WithSummary("Record one metric sample or a batch; runs detection in the same transaction")
            .WithBodyLimit(MaxBodyBytes);
        app.MapGet("/api/flags/{idOrName}/metrics", ListMetrics).WithTags("Metrics")
            .WithName("ListMetrics").WithSummary("A flag's metric samples in one environment (?environment=, default the flag's home), oldest first, paged");
        return app;
    }

    /// <summary>One sample (an object) or a batch (an array), validated whole, stored in one transaction.</summary>
    public static async Task<Results<Ok<MetricsAccepted>, ValidationProblem, ProblemHttpResult>> RecordMetrics(
        [AsParameters] MetricsServices s, HttpRequest request, CancellationToken ct)
    {
        var parsed = await ReadBodyAsync(request, ct);
        if (parsed.Problem is { } bad) return bad;
        var requests = parsed.Samples!;

        var v = new Validator();
        if (requests.Count == 0) v.Add("$", "at least one sample is required");
        if (requests.Count > MaxBatch) v.Add("$", $"at most {MaxBatch} samples per request");
        var now = s.Clock.GetUtcNow();
        for (var i = 0; i < requests.Count && v.ErrorCount < 50; i++)
            Validate(requests[i], parsed.IsArray ? i : null, now, v);
        if (!v.IsValid) return v.ToProblem();

        var samples = requests.Select(r => new MetricSample
        {
            FlagId = r.FlagId!,
            Timestamp = r.Timestamp ?? now,
            Cohort = Cohorts.ParseOptional(r.Cohort),
            ErrorRate = r.ErrorRate!.Value,
            LatencyP50 = r.LatencyP50!.Value,
            LatencyP99 = r.LatencyP99!.Value,
            RequestCount = r.RequestCount!.Value,
            ConversionRate = r.ConversionRate,
            UserSatisfactionScore = r.UserSatisfactionScore,
            Variant = r.Variant,
            Environment = r.Environment ?? "",
        }).ToList();

        return await s.Service.RecordAsync(new RecordMetricsRequest(samples, request.HttpContext.GetActor()), ct) switch
        {
            RecordMetricsResult.Recorded ok => TypedResults.Ok(ok.Accepted),
            RecordMetricsResult.FlagNotFound nf => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Flag not found",
                detail: $"No flag has the id or name '{nf.Key}' ({(parsed.IsArray ? $"[{nf.Index}]." : "")}flagId)."),
            var other => throw new InvalidOperationException($"Unexpected result {other}."),
        };
    }

    /// <summary>Checks one sample; field names (with the <c>[i].</c> prefix of a batch) are built only for errors.</summary>
    public static void Validate(MetricSampleRequest r, int? index, DateTimeOffset now, Validator v)
    {
        string F(string field) => index is { } i ? $"[{i}].{field}" : field;
        static bool Out(double x, double min, double max) => double.IsNaN(x) || x < min || x > max;

        if (string.IsNullOrEmpty(r.FlagId)) v.Add(F("flagId"), "is required");
        if (r.ErrorRate is not { } err) v.Add(F("errorRate"), "is required");
        else if (Out(err, 0, 100)) v.Add(F("errorRate"), "must be between 0 and 100");
        if (r.LatencyP50 is not { } p50) v.Add(F("latencyP50"), "is required");
        else if (Out(p50, 0, MaxLatencyMs)) v.Add(F("latencyP50"), $"must be between 0 and {MaxLatencyMs}");
        if (r.LatencyP99 is not { } p99) v.Add(F("latencyP99"), "is required");
        else if (Out(p99, 0, MaxLatencyMs)) v.Add(F("latencyP99"), $"must be between 0 and {MaxLatencyMs}");
        if (r.LatencyP50 is { } a && r.LatencyP99 is { } b && b < a) v.Add(F("latencyP99"), "must be greater than or equal to latencyP50");
        if (r.RequestCount is not { } n) v.Add(F("requestCount"), "is required");
        else if (n < 0) v.Add(F("requestCount"), "must not be negative");
        if (r.ConversionRate is { } cr && Out(cr, 0, 100)) v.Add(F("conversionRate"), "must be between 0 and 100");
        if (r.UserSatisfactionScore is { } us && Out(us, 0, 5)) v.Add(F("userSatisfactionScore"), "must be between 0 and 5");
        if (r.Cohort is not null && !Cohorts.TryParse(r.Cohort, out _)) v.Add(F("cohort"), "must be 'treatment' or 'control'");
        if (r.Variant is { } variant && (variant.Length is 0 or > MaxVariantLength || variant.Any(char.IsControl)))
            v.Add(F("variant"), $"must be 1–{MaxVariantLength} characters without control characters");
        if (r.Timestamp is { } t && t > now + FutureTolerance) v.Add(F("timestamp"), "must not be in the future");
        EnvironmentNames.Check(r.Environment, v, F("environment"));
    }

    private sealed record ParsedBody(List<MetricSampleRequest>? Samples, bool IsArray, ValidationProblem? Problem);

    private static async Task<ParsedBody> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        // the route's body limit (MaxBodyBytes) stops a longer body with 413 before this limit is reached
        using var body = await PooledBody.ReadAsync(request.Body, (int)MaxBodyBytes, request.ContentLength, ct)
            ?? throw new BadHttpRequestException($"The body is larger than {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
        var bytes = body.Span;
        var first = bytes.TrimStart(" \t\r\n"u8);
        var isArray = first.Length > 0 && first[0] == (byte)'[';
        try
        {
            if (first.Length == 0) return new(null, false, Problems.Invalid("$", "a sample object or an array of samples is required"));
            var samples = isArray
                ? JsonSerializer.Deserialize(bytes, MetricsJson.Default.ListMetricSampleRequest) ?? []
                : [JsonSerializer.Deserialize(bytes, MetricsJson.Default.MetricSampleRequest)!];
            if (samples.Any(x => x is null)) return new(null, isArray, Problems.Invalid("$", "samples must be JSON objects"));
            return new(samples, isArray, null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "$" : ex.Path.TrimStart('$').TrimStart('.');
            return new(null, isArray, Problems.Invalid(field, "is not valid JSON of the expected type"));
        }
    }

    public static async Task<Results<Ok<Page<MetricSample>>, ValidationProblem, ProblemHttpResult>> ListMetrics(
        [AsParameters] MetricsServices s, string idOrName, DateTimeOffset? since, DateTimeOffset? until, string? cohort,
        int? limit, string? cursor, HttpContext http, CancellationToken ct)
    {
        var v = new Validator();
        var (take, after) = Paging.Read(limit, cursor, v, max: 10_000, @default: 1_000);
        (long, long)? position = null;
        if (after is not null)
        {
            var parts = after.Split(':');
            if (parts.Length == 2 && long.TryParse(parts[0], out var ts) && long.TryParse(parts[1], out var id)) position = (ts, id);
            else v.Add("cursor", "is not a cursor this API issued");
        }
        Cohort? cohortFilter = null;
        if (cohort is not null)
        {
            if (Cohorts.TryParse(cohort, out var c)) cohortFilter = c;
            else v.Add("cohort", "must be 'treatment' or 'control'");
        }
        if (since is { } a && until is { } b && b <= a) v.Add("until", "must be after since");
        if (!v.IsValid) return v.ToProblem();

        if (await s.Flags.FindAsync(idOrName, ct) is not { } flag) return Problems.NotFound("Flag", idOrName);
        await using var conn = await s.Db.OpenAsync(ct);
        var rows = await MetricStore.ListAsync(conn, null, flag.Id, http.ActingEnvironment(flag.Environment), since, until, cohortFilter, position,
            take + 1, ct);
        return TypedResults.Ok(Paging.Build(rows, take, m => $"{Time.ToMs(m.Timestamp)}:{m.Id}"));
    }
}
