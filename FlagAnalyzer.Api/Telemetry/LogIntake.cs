using System.Globalization;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// <c>POST /v1/logs</c> without the HTTP plumbing. Reads <c>feature_flag.evaluation</c> events, as OpenTelemetry's
/// semantic conventions now record flag evaluations (open-telemetry/semantic-conventions
/// docs/feature-flags/feature-flags-events.md, release candidate: the event name in the record's <c>event_name</c>,
/// or in an <c>event.name</c> attribute from SDKs older than opentelemetry-proto 1.5; attributes
/// <c>feature_flag.key</c>, <c>feature_flag.result.variant</c>, <c>feature_flag.result.reason</c>,
/// <c>feature_flag.context.id</c>). Each usable evaluation counts as an exposure at once (like the metrics hook's
/// counts), and is joined to the request span of its trace through <see cref="EvaluationJoin"/>, whose joined requests
/// go through <see cref="TraceIntake.AcceptAsync"/>: the same attribution, flag resolution and aggregation as span
/// events. A record counts in the environment its resource names, else the sending key's, else the flag's home, and a
/// key scoped to an environment may send records of that one only (<see cref="ObservationResolver.Place"/>, as for
/// spans and metric points); it joins only a span that counts in the same environment. Other log records are accepted
/// and ignored. Statuses as <c>/v1/traces</c>.
/// </summary>
public sealed class LogIntake(TraceIntake traces, EvaluationJoin join, IngestGate gate, FlagReader flags, IExposureCounts exposures,
    IOptions<TelemetryOptions> options, TimeProvider clock, ILogger<LogIntake> logger)
{
    public const string EventNameAttribute = "event.name";
    public const string ReasonAttribute = "feature_flag.result.reason";
    /// <summary>The reason an SDK gives when evaluation failed and it served the caller's default instead of a variant.</summary>
    public const string ErrorReason = "error";

    private static readonly MessageParser<ExportLogsServiceRequest> Parser = ExportLogsServiceRequest.Parser.WithDiscardUnknownFields(true);
    private readonly TelemetryOptions _options = options.Value;

    public static ExportLogsServiceRequest Decode(ReadOnlySpan<byte> body, OtlpEncoding encoding) =>
        encoding == OtlpEncoding.Protobuf ? Parser.ParseFrom(body) : OtlpJsonReader.ReadLogs(body);

    public Task<IntakeResult> ExportAsync(HttpRequest request, CancellationToken ct) => gate.RunAsync(request, async (request, ct) =>
    {
        var (refusal, export) = await OtlpBody.ReadExportAsync(request, _options.MaxDecompressedBytes, Decode, "ExportLogsServiceRequest", ct);
        return refusal ?? await AcceptAsync(export!, ct, request.HttpContext.GetActor());
    }, ct);

    /// <summary>
    /// Counts, joins and answers a decoded export; records of an environment <paramref name="caller"/> may not report
    /// for are rejected.
    /// </summary>
    public async Task<IntakeResult> AcceptAsync(ExportLogsServiceRequest export, CancellationToken ct, Actor? caller = null)
    {
        var now = clock.GetUtcNow();
        var rejected = new List<string>();
        var usable = new List<(LogEvaluation Evaluation, string FlagId, DateTimeOffset At)>();
        var known = new Dictionary<string, Flag?>(StringComparer.Ordinal);
        foreach (var (record, resourceEnvironment) in export.ResourceLogs
                     .SelectMany(r => r.ScopeLogs.SelectMany(s => s.LogRecords).Select(l => (l, SpanAttribution.EnvironmentOf(r.Resource)))))
        {
            if (!IsEvaluation(record)) continue;
            string? key = null, variant = null, legacyVariant = null, reason = null;
            foreach (var kv in record.Attributes)
            {
                switch (kv.Key)
                {
                    case SpanAttribution.KeyAttribute: key = SpanAttribution.StringOf(kv.Value); break;
                    case SpanAttribution.VariantAttribute: variant = SpanAttribution.StringOf(kv.Value); break;
                    case SpanAttribution.LegacyVariantAttribute: legacyVariant = SpanAttribution.StringOf(kv.Value); break;
                    case ReasonAttribute: reason = SpanAttribution.StringOf(kv.Value); break;
                }
            }
            variant = string.IsNullOrEmpty(variant) ? legacyVariant : variant;
            if (string.IsNullOrEmpty(key)) { rejected.Add("a feature_flag.evaluation record without feature_flag.key"); continue; }
            if (string.Equals(reason, ErrorReason, StringComparison.OrdinalIgnoreCase))
            {
                rejected.Add($"{key}: the evaluation failed (reason error), so the application served its default, not a variant");
                continue;
            }
            if (string.IsNullOrEmpty(variant)) { rejected.Add($"{key}: a record without feature_flag.result.variant"); continue; }
            var nanos = record.TimeUnixNano != 0 ? record.TimeUnixNano : record.ObservedTimeUnixNano;
            var at = SpanAttribution.FromNanos(nanos);
            if (nanos == 0 || at < now - _options.MaxSpanAge || at > now + _options.FutureTolerance)
            {
                rejected.Add($"{key}: a record time outside [now - {_options.MaxSpanAge}, now + {_options.FutureTolerance}]");
                continue;
            }
            if (await ObservationResolver.FlagOfAsync(flags, known, key, ct) is not { } flag) { rejected.Add($"{key}: not a flag FlagAnalyzer knows"); continue; }
            // as for spans: the environment, then the variant (one the flag does not have would be a cohort of its own)
            var (environment, flagVariant) = ObservationResolver.Place(flag, variant, resourceEnvironment, caller);
            if (environment is null)
            {
                rejected.Add($"{key}@{resourceEnvironment}: a record of an environment this key may not report for");
                continue;
            }
            if (flagVariant is null)
            {
                rejected.Add($"{key}: the flag has no variant '{variant}'");
                continue;
            }
            usable.Add((new LogEvaluation(record.TraceId, record.SpanId, key, flagVariant, environment, flag.TargetEnvironment), flag.Id, at));
        }

        var warnings = new List<string>();
        var joined = join.Join(usable.Select(u => u.Evaluation).ToList());
        if (joined.JoinedCount > 0)
        {
            var result = await traces.AcceptAsync(joined.Joined, ct, caller);
            if (result.StatusCode == StatusCodes.Status503ServiceUnavailable)
            {
                // refused whole, so the exporter's retry counts nothing twice
                join.Forget(joined.Waiting);
                return result;
            }
            if (result.StatusCode != StatusCodes.Status200OK)
                warnings.Add($"{joined.JoinedCount} evaluation(s) were joined to request spans that could not be used: {result.Message}");
            else if (result.Response is ExportTraceServiceResponse { PartialSuccess.ErrorMessage: { Length: > 0 } partial })
                warnings.Add($"of the request spans the evaluations were joined to: {partial}");
        }
        foreach (var (evaluation, flagId, at) in usable) exposures.Add(flagId, evaluation.Environment, evaluation.Variant, at, 1);
        if (joined.OtherEnvironment > 0)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{joined.OtherEnvironment} evaluation(s) were emitted in a span that counts in another environment: counted as exposures, without impact"));
        if (joined.NotKept > 0)
        {
            logger.LogWarning("OTLP logs: {Count} flag evaluation(s) could not wait for their span ({Max} waiting); counted as exposures only",
                joined.NotKept, join.MaxEntries);
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{joined.NotKept} evaluation(s) could not wait for their span ({join.MaxEntries} already waiting): counted as exposures, without impact"));
        }

        var response = new ExportLogsServiceResponse();
        if (rejected.Count > 0 || warnings.Count > 0)
        {
            var distinct = rejected.Distinct().ToList();
            var parts = distinct.Take(10).Concat(distinct.Count > 10 ? ["…"] : []).Concat(warnings);
            response.PartialSuccess = new ExportLogsPartialSuccess { RejectedLogRecords = rejected.Count, ErrorMessage = string.Join("; ", parts) };
            logger.LogDebug("OTLP logs: {Rejected} flag evaluation record(s) rejected: {Message}", rejected.Count, response.PartialSuccess.ErrorMessage);
        }
        return new IntakeResult(StatusCodes.Status200OK, "", response);
    }

    private static bool IsEvaluation(LogRecord record)
    {
        if (record.EventName.Length > 0) return record.EventName == SpanAttribution.EvaluationEvent;
        foreach (var kv in record.Attributes)
            if (kv.Key == EventNameAttribute) return SpanAttribution.StringOf(kv.Value) == SpanAttribution.EvaluationEvent;
        return false;
    }
}
