using System.Buffers.Binary;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf.Collections;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>One request attributed to one flag and the variant it was served.</summary>
/// <param name="Environment">The environment its resource names (<c>deployment.environment.name</c>), or null.</param>
public readonly record struct FlagObservation(string FlagKey, string Variant, DateTimeOffset At, long LatencyMicros, bool IsError,
    string? Environment = null);

/// <summary>A span that evaluated a flag (by its position in the export), whether or not it became an observation.</summary>
public readonly record struct FlagEvaluation(int SpanIndex, string FlagKey);

/// <summary>What one export says about flags: the observations, the evaluating spans, and what could not be used.</summary>
public sealed record Attribution(
    int Spans,
    IReadOnlyList<FlagObservation> Observations,
    IReadOnlyList<FlagEvaluation> Evaluations,
    /// <summary>Spans whose flag evaluation names no variant (they cannot be put in a cohort).</summary>
    int SpansWithoutVariant,
    /// <summary>Set when a request span has impossible times: the whole export is refused.</summary>
    string? Invalid)
{
    public static readonly Attribution Empty = new(0, [], [], 0, null);
}

/// <summary>Bounds on the times of a request span; beyond them the span is absurd and the export is refused.</summary>
public sealed record SpanTimeLimits(TimeSpan MaxDuration, TimeSpan MaxAge, TimeSpan FutureTolerance)
{
    public static readonly SpanTimeLimits Default = new(TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromMinutes(5));
}

/// <summary>
/// Turns an OTLP trace export into per-request flag observations, following the OpenTelemetry feature-flag
/// semantic conventions: a span carries an event <c>feature_flag.evaluation</c> (older conventions: an event
/// named <c>feature_flag</c>) with <c>feature_flag.key</c> and <c>feature_flag.result.variant</c> (deprecated:
/// <c>feature_flag.variant</c>), or those attributes on the span itself. The request it belongs to is the span's
/// local root when that root is in the same export (a span with no parent, a server span, or one whose parent is
/// remote), else the span itself. Error = request span status ERROR or <c>http.response.status_code</c> ≥ 500;
/// latency = the request span's duration. A request counts once per flag (its first evaluation of the flag).
/// Pure: no I/O, no clock but the one given.
/// </summary>
public static class SpanAttribution
{
    public const string EvaluationEvent = "feature_flag.evaluation";
    public const string LegacyEvaluationEvent = "feature_flag";
    public const string KeyAttribute = "feature_flag.key";
    public const string VariantAttribute = "feature_flag.result.variant";
    public const string LegacyVariantAttribute = "feature_flag.variant";
    public const string HttpStatusAttribute = "http.response.status_code";
    public const string LegacyHttpStatusAttribute = "http.status_code";
    /// <summary>The resource attribute naming the deployment environment (semantic conventions 1.27+).</summary>
    public const string EnvironmentAttribute = "deployment.environment.name";
    /// <summary>Its name before semantic conventions 1.27.</summary>
    public const string LegacyEnvironmentAttribute = "deployment.environment";

    /// <summary>The environment a resource names, the current attribute before the older one; null when it names none.</summary>
    public static string? EnvironmentOf(Resource? resource)
    {
        if (resource is null) return null;
        string? legacy = null;
        var attributes = resource.Attributes;
        for (var k = 0; k < attributes.Count; k++)
        {
            if (attributes[k].Key == EnvironmentAttribute && StringOf(attributes[k].Value) is { Length: > 0 } name) return name;
            if (attributes[k].Key == LegacyEnvironmentAttribute) legacy = StringOf(attributes[k].Value);
        }
        return string.IsNullOrEmpty(legacy) ? null : legacy;
    }

    // Span.flags bit 8: whether bit 9 is known; bit 9: the parent span is remote (OTLP SpanFlags)
    private const uint HasIsRemote = 0x100;
    private const uint IsRemote = 0x200;

    public static Attribution Attribute(ExportTraceServiceRequest request, DateTimeOffset now, SpanTimeLimits limits)
    {
        var spans = new List<Span>();
        // each span's resource environment, by the span's position (one resource's spans share it)
        var environments = new List<string?>();
        for (var r = 0; r < request.ResourceSpans.Count; r++)
        {
            var environment = EnvironmentOf(request.ResourceSpans[r].Resource);
            var scopes = request.ResourceSpans[r].ScopeSpans;
            for (var c = 0; c < scopes.Count; c++)
            {
                spans.AddRange(scopes[c].Spans);
                for (var k = 0; k < scopes[c].Spans.Count; k++) environments.Add(environment);
            }
        }

        List<(int Span, string Key, string Variant)>? found = null;
        var evaluations = new List<FlagEvaluation>();
        var withoutVariant = 0;
        for (var i = 0; i < spans.Count; i++)
        {
            var missing = FindEvaluations(spans[i], i, ref found, evaluations);
            if (missing) withoutVariant++;
        }
        if (found is null) return Attribution.Empty with { Spans = spans.Count, Evaluations = evaluations, SpansWithoutVariant = withoutVariant };

        var index = new Dictionary<SpanKey, int>(spans.Count);
        for (var i = 0; i < spans.Count; i++)
            if (SpanKey.Of(spans[i].TraceId, spans[i].SpanId) is { } key) index.TryAdd(key, i);

        var seen = new HashSet<(int Request, string Key)>();
        var observations = new List<FlagObservation>(found.Count);
        foreach (var (spanIndex, flagKey, variant) in found)
        {
            var requestIndex = RequestOf(spans, index, spanIndex);
            if (!seen.Add((requestIndex, flagKey))) continue;
            var r = spans[requestIndex];
            if (CheckTimes(r, now, limits) is { } problem)
                return new Attribution(spans.Count, [], evaluations, withoutVariant, $"span {Hex(r.TraceId)}/{Hex(r.SpanId)} {problem}");
            observations.Add(new FlagObservation(flagKey, variant, FromNanos(r.EndTimeUnixNano),
                (long)((r.EndTimeUnixNano - r.StartTimeUnixNano) / 1000), IsError(r), environments[requestIndex]));
        }
        return new Attribution(spans.Count, observations, evaluations, withoutVariant, null);
    }

    /// <summary>Adds the span's evaluations; returns true when one of them names a flag but no variant.</summary>
    private static bool FindEvaluations(Span span, int i, ref List<(int, string, string)>? found, List<FlagEvaluation> evaluations)
    {
        var missingVariant = false;
        // indexed loops: a foreach over a RepeatedField allocates an enumerator, and this runs for every span
        var events = span.Events;
        for (var k = 0; k < events.Count; k++)
            if (events[k].Name is EvaluationEvent or LegacyEvaluationEvent)
                missingVariant |= AddEvaluation(events[k].Attributes, i, ref found, evaluations);
        return AddEvaluation(span.Attributes, i, ref found, evaluations) | missingVariant;
    }

    /// <summary>Reads one set of attributes; returns true when it names a flag but no variant.</summary>
    private static bool AddEvaluation(RepeatedField<KeyValue> attributes, int i, ref List<(int, string, string)>? found, List<FlagEvaluation> evaluations)
    {
        string? key = null, variant = null, legacyVariant = null;
        for (var k = 0; k < attributes.Count; k++)
        {
            var kv = attributes[k];
            // every feature-flag attribute starts so; most span attributes do not, and are passed over on one comparison
            if (!kv.Key.StartsWith("feature_flag.", StringComparison.Ordinal)) continue;
            switch (kv.Key)
            {
                case KeyAttribute: key = StringOf(kv.Value); break;
                case VariantAttribute: variant = StringOf(kv.Value); break;
                case LegacyVariantAttribute: legacyVariant = StringOf(kv.Value); break;
            }
        }
        if (string.IsNullOrEmpty(key)) return false;
        evaluations.Add(new FlagEvaluation(i, key));
        variant = string.IsNullOrEmpty(variant) ? legacyVariant : variant;
        if (string.IsNullOrEmpty(variant)) return true;
        (found ??= []).Add((i, key, variant));
        return false;
    }

    /// <summary>The span's local root when it is in this export, else the span itself.</summary>
    private static int RequestOf(List<Span> spans, Dictionary<SpanKey, int> index, int start)
    {
        var top = start;
        // a parent chain longer than the export is a cycle in bad data; stop there
        for (var steps = 0; steps < spans.Count; steps++)
        {
            var parent = SpanKey.Of(spans[top].TraceId, spans[top].ParentSpanId);
            if (parent is null || !index.TryGetValue(parent.Value, out var p) || p == top) break;
            top = p;
        }
        var t = spans[top];
        var isLocalRoot = t.ParentSpanId.IsEmpty
            || t.Kind == Span.Types.SpanKind.Server
            || (t.Flags & (HasIsRemote | IsRemote)) == (HasIsRemote | IsRemote);
        return isLocalRoot ? top : start;
    }

    private static string? CheckTimes(Span s, DateTimeOffset now, SpanTimeLimits limits)
    {
        if (s.StartTimeUnixNano == 0 || s.EndTimeUnixNano == 0) return "has no start or end time";
        if (s.EndTimeUnixNano < s.StartTimeUnixNano) return "ends before it starts";
        if (s.EndTimeUnixNano - s.StartTimeUnixNano > (ulong)limits.MaxDuration.Ticks * 100) return $"lasts longer than {limits.MaxDuration}";
        var end = FromNanos(s.EndTimeUnixNano);
        if (end > now + limits.FutureTolerance) return $"ends more than {limits.FutureTolerance} in the future";
        if (end < now - limits.MaxAge) return $"ended more than {limits.MaxAge} ago";
        return null;
    }

    private static bool IsError(Span s)
    {
        if (s.Status?.Code == SpanStatus.Types.StatusCode.Error) return true;
        var attributes = s.Attributes;
        for (var k = 0; k < attributes.Count; k++)
        {
            var kv = attributes[k];
            if (kv.Key is not (HttpStatusAttribute or LegacyHttpStatusAttribute) || kv.Value is null) continue;
            var code = kv.Value.ValueCase switch
            {
                AnyValue.ValueOneofCase.IntValue => kv.Value.IntValue,
                AnyValue.ValueOneofCase.StringValue when long.TryParse(kv.Value.StringValue, out var n) => n,
                AnyValue.ValueOneofCase.DoubleValue => (long)kv.Value.DoubleValue,
                _ => 0,
            };
            if (code >= 500) return true;
        }
        return false;
    }

    internal static string? StringOf(AnyValue? v) => v?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        // a variant is a name, but some SDKs stringify booleans and numbers
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    public static DateTimeOffset FromNanos(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));

    private static string Hex(Google.Protobuf.ByteString id) => id.IsEmpty ? "-" : Convert.ToHexStringLower(id.Span);

    /// <summary>
    /// Every span of the export with the request span it belongs to and the environment the request's resource names
    /// (or null), by the rules <see cref="Attribute"/> uses, so the log join (<see cref="EvaluationJoin"/>) finds the
    /// same request, in the same environment, for a log record as for a span event.
    /// </summary>
    public static List<(Span Span, Span Request, string? Environment)> RequestsOf(ExportTraceServiceRequest request)
    {
        var spans = new List<Span>();
        var environments = new List<string?>();
        foreach (var rs in request.ResourceSpans)
        {
            var environment = EnvironmentOf(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
            {
                spans.AddRange(ss.Spans);
                for (var k = 0; k < ss.Spans.Count; k++) environments.Add(environment);
            }
        }
        var index = new Dictionary<SpanKey, int>(spans.Count);
        for (var i = 0; i < spans.Count; i++)
            if (SpanKey.Of(spans[i].TraceId, spans[i].SpanId) is { } key) index.TryAdd(key, i);
        var pairs = new List<(Span, Span, string?)>(spans.Count);
        for (var i = 0; i < spans.Count; i++)
        {
            var r = RequestOf(spans, index, i);
            pairs.Add((spans[i], spans[r], environments[r]));
        }
        return pairs;
    }

    /// <summary>A (trace id, span id) pair as three integers, so the parent lookup hashes no byte arrays.</summary>
    private readonly record struct SpanKey(ulong TraceHigh, ulong TraceLow, ulong SpanId)
    {
        public static SpanKey? Of(Google.Protobuf.ByteString traceId, Google.Protobuf.ByteString spanId)
        {
            if (traceId.Length != 16 || spanId.Length != 8) return null;
            var t = traceId.Span;
            return new SpanKey(BinaryPrimitives.ReadUInt64BigEndian(t), BinaryPrimitives.ReadUInt64BigEndian(t[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(spanId.Span));
        }
    }
}
