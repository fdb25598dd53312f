using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// <c>POST /v1/metrics</c> without the HTTP plumbing: the OpenFeature metrics hook's
/// <c>feature_flag.evaluation_success_total</c> counter (one point per flag key and variant) becomes exposure counts
/// per flag, variant and minute, the same counts OFREP answers make, so the sample-ratio check also sees evaluations
/// served by another flag source. Delta sums are added as they are; a cumulative stream (one per resource and
/// attribute set) adds what it grew by since its last point, its first point in full only when the stream began after
/// this replica started (an older stream may have been counted by a previous run, so its first point is the
/// baseline), and in full again when its start time moves (the application restarted). Other metrics are accepted and
/// ignored; flag points that cannot be used (unknown flag, no variant, negative or absurd values and times) are
/// reported as rejected data points.
/// </summary>
public sealed class MetricsIntake(IngestGate gate, FlagReader flags, IExposureCounts exposures, IOptions<TelemetryOptions> options,
    TimeProvider clock, MetricsIntake.ServingSince servingSince, ILogger<MetricsIntake> logger)
{
    public const string SuccessCounter = "feature_flag.evaluation_success_total";
    /// <summary>The most cumulative streams remembered; points of new streams beyond it are rejected.</summary>
    public const int MaxStreams = 100_000;

    private static readonly MessageParser<ExportMetricsServiceRequest> Parser = ExportMetricsServiceRequest.Parser.WithDiscardUnknownFields(true);
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly TelemetryOptions _options = options.Value;
    private readonly DateTimeOffset _startedAt = servingSince.At;

    /// <summary>When this replica's intake was set up (wall clock, as exporters stamp their start times).</summary>
    public sealed record ServingSince(DateTimeOffset At);
    private readonly ConcurrentDictionary<string, (ulong Start, long Value)> _streams = new(StringComparer.Ordinal);

    public static ExportMetricsServiceRequest Decode(ReadOnlySpan<byte> body, OtlpEncoding encoding) =>
        encoding == OtlpEncoding.Protobuf ? Parser.ParseFrom(body) : Json.Parse<ExportMetricsServiceRequest>(Encoding.UTF8.GetString(body));

    public Task<IntakeResult> ExportAsync(HttpRequest request, CancellationToken ct) => gate.RunAsync(request, async (request, ct) =>
    {
        var (refusal, export) = await OtlpBody.ReadExportAsync(request, _options.MaxDecompressedBytes, Decode, "ExportMetricsServiceRequest", ct);
        return refusal ?? await AcceptAsync(export!, ct, request.HttpContext.GetActor());
    }, ct);

    /// <summary>
    /// Counts the flag evaluation points of a decoded export, each in the environment <see cref="ObservationResolver.Place"/>
    /// gives it (the resource's, else <paramref name="caller"/>'s, else the flag's home), as <c>/v1/traces</c> does.
    /// </summary>
    /// <param name="caller">Who sent it: a key scoped to an environment has its points naming another rejected.</param>
    public async Task<IntakeResult> AcceptAsync(ExportMetricsServiceRequest export, CancellationToken ct, Actor? caller = null)
    {
        var now = clock.GetUtcNow();
        var rejected = new List<string>();
        var counted = new List<(string FlagId, string Environment, string Variant, DateTimeOffset At, long Count)>();
        var known = new Dictionary<string, Flag?>(StringComparer.Ordinal);
        foreach (var resource in export.ResourceMetrics)
        {
            var resourceId = Describe(resource.Resource?.Attributes);
            var resourceEnvironment = SpanAttribution.EnvironmentOf(resource.Resource);
            foreach (var metric in resource.ScopeMetrics.SelectMany(s => s.Metrics))
            {
                if (metric.Name != SuccessCounter || metric.Sum is not { } sum) continue;
                foreach (var point in sum.DataPoints)
                {
                    var key = Attribute(point, "feature_flag.key");
                    var variant = Attribute(point, "feature_flag.result.variant") ?? Attribute(point, "feature_flag.variant");
                    if (key is null || variant is null) { rejected.Add("a point without feature_flag.key or its variant"); continue; }
                    if (!ValueOf(point, out var value)) { rejected.Add($"{key}: a negative or non-integral count"); continue; }
                    var at = DateTimeOffset.UnixEpoch.AddTicks((long)(point.TimeUnixNano / 100));
                    if (point.TimeUnixNano == 0 || at < now - _options.MaxSpanAge || at > now + _options.FutureTolerance)
                    {
                        rejected.Add($"{key}: a point time outside [now - {_options.MaxSpanAge}, now + {_options.FutureTolerance}]");
                        continue;
                    }
                    if (await ObservationResolver.FlagOfAsync(flags, known, key, ct) is not { } flag) { rejected.Add($"{key}: not a flag FlagAnalyzer knows"); continue; }
                    // as for spans: the resource's environment, else the key's, else the flag's home; a scoped key reports for its own only
                    var (environment, named) = ObservationResolver.Place(flag, variant, resourceEnvironment, caller);
                    if (environment is null)
                    {
                        rejected.Add($"{key}@{resourceEnvironment}: a point of an environment this key may not report for");
                        continue;
                    }
                    if (named is null) { rejected.Add($"{key}: '{variant}' is not one of the flag's variants"); continue; }
                    variant = named;
                    long? delta = sum.AggregationTemporality switch
                    {
                        AggregationTemporality.Delta => value,
                        AggregationTemporality.Cumulative => Grown($"{resourceId}|{Describe(point.Attributes)}", point.StartTimeUnixNano, value),
                        _ => null,
                    };
                    if (delta is null) { rejected.Add($"{key}: a sum without a known temporality, or one stream too many"); continue; }
                    counted.Add((flag.Id, environment, variant, at, delta.Value));
                }
            }
        }
        foreach (var (flagId, environment, variant, at, count) in counted) exposures.Add(flagId, environment, variant, at, count);
        if (rejected.Count > 0) logger.LogDebug("OTLP metrics: {Rejected} flag evaluation point(s) rejected, first: {First}", rejected.Count, rejected[0]);
        var response = new ExportMetricsServiceResponse();
        if (rejected.Count > 0)
            response.PartialSuccess = new ExportMetricsPartialSuccess
            {
                RejectedDataPoints = rejected.Count,
                ErrorMessage = string.Join("; ", rejected.Distinct().Take(10)) + (rejected.Distinct().Count() > 10 ? "; …" : ""),
            };
        return new IntakeResult(StatusCodes.Status200OK, "", response);
    }

    /// <summary>What a cumulative stream grew by since its last point (null when no room is left for a new stream).</summary>
    private long? Grown(string stream, ulong start, long value)
    {
        var startedAfterUs = start >= (ulong)(_startedAt - DateTimeOffset.UnixEpoch).Ticks * 100;
        while (true)
        {
            if (!_streams.TryGetValue(stream, out var last))
            {
                if (_streams.Count >= MaxStreams) return null;
                if (_streams.TryAdd(stream, (start, value))) return startedAfterUs ? value : 0;
                continue;
            }
            // a new start time, or a value below the last one: the application restarted its counter
            var grown = last.Start != start || value < last.Value ? value : value - last.Value;
            if (_streams.TryUpdate(stream, (start, value), last)) return grown;
        }
    }

    private static bool ValueOf(NumberDataPoint point, out long value)
    {
        switch (point.ValueCase)
        {
            case NumberDataPoint.ValueOneofCase.AsInt when point.AsInt >= 0:
                value = point.AsInt;
                return true;
            case NumberDataPoint.ValueOneofCase.AsDouble when point.AsDouble >= 0 && point.AsDouble <= long.MaxValue && Math.Floor(point.AsDouble) == point.AsDouble:
                value = (long)point.AsDouble;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    private static string? Attribute(NumberDataPoint point, string name) =>
        SpanAttribution.StringOf(point.Attributes.FirstOrDefault(a => a.Key == name)?.Value) is { Length: > 0 } text ? text : null;

    /// <summary>A stable text for a set of attributes (sorted by key), to name a stream.</summary>
    private static string Describe(IEnumerable<KeyValue>? attributes) =>
        attributes is null ? "" : string.Join(",", attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value?.ToString()}"));
}
