using System.Globalization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>The outcome of one export, as the endpoint answers it.</summary>
public sealed record IntakeResult(int StatusCode, string Message, IMessage? Response = null, TimeSpan? RetryAfter = null)
{
    public long RejectedSpans => (Response as ExportTraceServiceResponse)?.PartialSuccess?.RejectedSpans ?? 0;
}

/// <summary>
/// <c>POST /v1/traces</c> without the HTTP plumbing: admit (or shed), read and decode the body, attribute the spans
/// to flags and variants, resolve the flags, and count the requests into the aggregator — all of an export or none
/// of it. Statuses follow OTLP/HTTP: 200 (partial success names what was not used), 400 undecodable or absurd,
/// 413 too large, 415 unsupported type or encoding, 429 too many exports in flight, 503 aggregation full.
/// </summary>
public sealed class TraceIntake(ImpactAggregator aggregator, IngestGate gate, FlagReader flags, IOptions<TelemetryOptions> options,
    TimeProvider clock, ILogger<TraceIntake> logger, EvaluationJoin logJoin)
{
    public const string ControlVariantDefault = "off";

    private static readonly MessageParser<ExportTraceServiceRequest> Parser = ExportTraceServiceRequest.Parser.WithDiscardUnknownFields(true);
    private readonly TelemetryOptions _options = options.Value;

    public static ExportTraceServiceRequest Decode(ReadOnlySpan<byte> body, OtlpEncoding encoding) =>
        encoding == OtlpEncoding.Protobuf ? Parser.ParseFrom(body) : OtlpJsonReader.Read(body);

    public Task<IntakeResult> ExportAsync(HttpRequest request, CancellationToken ct) => gate.RunAsync(request, ExportAdmittedAsync, ct);

    private async Task<IntakeResult> ExportAdmittedAsync(HttpRequest request, CancellationToken ct)
    {
        var (refusal, export) = await OtlpBody.ReadExportAsync(request, _options.MaxDecompressedBytes, Decode, "ExportTraceServiceRequest", ct);
        if (refusal is not null) return refusal;
        // feature_flag.evaluation log records that came before these spans become their span events (POST /v1/logs)
        var caller = request.HttpContext.GetActor();
        var joined = logJoin.AttachWaiting(export!, caller);
        var result = await AcceptAsync(export!, ct, caller);
        if (result.StatusCode == StatusCodes.Status200OK) logJoin.Accepted(export!, joined, caller);
        return result;
    }

    /// <summary>
    /// Attributes, resolves and counts a decoded export. Each request counts in the environment its resource names, else
    /// <paramref name="caller"/>'s, else the flag's home (issue 26); a scoped caller's spans naming another environment are
    /// rejected and counted in the partial success.
    /// </summary>
    public async Task<IntakeResult> AcceptAsync(ExportTraceServiceRequest export, CancellationToken ct, Actor? caller = null)
    {
        var attribution = SpanAttribution.Attribute(export, clock.GetUtcNow(), _options.TimeLimits);
        if (attribution.Invalid is { } invalid)
            return new IntakeResult(StatusCodes.Status400BadRequest, $"Nothing of the export was used: {invalid}.");

        var known = new Dictionary<string, Flag?>(StringComparer.Ordinal);
        foreach (var e in attribution.Evaluations)
            await ObservationResolver.FlagOfAsync(flags, known, e.FlagKey, ct);

        var resolved = ObservationResolver.Resolve(attribution.Observations, known, caller);
        if (!aggregator.TryAdd(resolved.Accepted, out var overShare))
        {
            if (overShare is not null)
            {
                logger.LogWarning("Flag {FlagId} holds its share of the telemetry aggregation ({Buckets} buckets); shedding an export of {Spans} spans",
                    overShare, aggregator.MaxBucketsPerFlag, attribution.Spans);
                return new IntakeResult(StatusCodes.Status503ServiceUnavailable,
                    "One flag of this export has too many variant × intervals waiting to be stored; retry later.", RetryAfter: RetryAfterFull());
            }
            logger.LogWarning("Telemetry aggregation is full ({Buckets} buckets); shedding an export of {Spans} spans", aggregator.MaxBuckets, attribution.Spans);
            return new IntakeResult(StatusCodes.Status503ServiceUnavailable, "Too many flag × variant intervals are waiting to be stored; retry later.",
                RetryAfter: RetryAfterFull());
        }
        return new IntakeResult(StatusCodes.Status200OK, "", new ExportTraceServiceResponse { PartialSuccess = PartialSuccess(attribution, known, resolved) });
    }

    /// <summary>The variant that is the control cohort: the flag's off variant (what it serves when disabled).</summary>
    public static string ControlVariantOf(Flag flag) => string.IsNullOrEmpty(flag.OffVariant) ? ControlVariantDefault : flag.OffVariant;

    /// <summary>Spans that named an unknown flag, no variant or a variant the flag does not have: counted and reported, not stored.</summary>
    private static ExportTracePartialSuccess? PartialSuccess(Attribution a, Dictionary<string, Flag?> known, ResolvedObservations resolved)
    {
        var unknown = known.Where(k => k.Value is null).Select(k => k.Key).ToList();
        if (unknown.Count == 0 && a.SpansWithoutVariant == 0 && resolved.UnknownVariants == 0 && resolved.OutOfScope == 0) return null;
        var unknownSpans = a.Evaluations.Where(e => known[e.FlagKey] is null).Select(e => e.SpanIndex).Distinct().Count();
        var parts = new List<string>();
        if (unknown.Count > 0)
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"{unknownSpans} span(s) evaluated flags FlagAnalyzer does not know: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", …" : "")}"));
        if (a.SpansWithoutVariant > 0)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{a.SpansWithoutVariant} span(s) evaluated a flag without naming the variant"));
        if (resolved.Describe() is { } variants) parts.Add(variants);
        if (resolved.DescribeOutOfScope() is { } scope) parts.Add(scope);
        return new ExportTracePartialSuccess
        {
            RejectedSpans = unknownSpans + a.SpansWithoutVariant + resolved.UnknownVariants + resolved.OutOfScope, ErrorMessage = string.Join("; ", parts),
        };
    }

    /// <summary>When the aggregation is full: until the current interval has closed and been flushed.</summary>
    private TimeSpan RetryAfterFull()
    {
        var now = clock.GetUtcNow();
        var closes = aggregator.IntervalStart(now) + _options.SampleInterval + _options.FlushDelay;
        var wait = closes - now;
        return wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait;
    }
}
