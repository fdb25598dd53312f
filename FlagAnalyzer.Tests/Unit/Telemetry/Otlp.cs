using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>Builds OTLP trace exports for tests: request spans with child spans that evaluate flags.</summary>
internal static class Otlp
{
    private static long _next = 1;

    public static ByteString NewTraceId() => ByteString.CopyFrom(BitConverter.GetBytes(Interlocked.Increment(ref _next)).Concat(new byte[8]).ToArray());
    public static ByteString NewSpanId() => ByteString.CopyFrom(BitConverter.GetBytes(Interlocked.Increment(ref _next)));

    public static ulong Nanos(DateTimeOffset t) => (ulong)(t - DateTimeOffset.UnixEpoch).Ticks * 100;

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static Span.Types.Event Evaluation(string flag, string variant, string variantKey = "feature_flag.result.variant") => new()
    {
        Name = "feature_flag.evaluation",
        Attributes = { Attr("feature_flag.key", flag), Attr(variantKey, variant) },
    };

    /// <summary>A server span (the request) and an internal child span that evaluated <paramref name="flag"/>.</summary>
    public static IEnumerable<Span> Request(string flag, string variant, DateTimeOffset end, double latencyMs, bool error = false, int? httpStatus = null)
    {
        var trace = NewTraceId();
        var root = new Span
        {
            TraceId = trace, SpanId = NewSpanId(), Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = Nanos(end.AddMilliseconds(-latencyMs)), EndTimeUnixNano = Nanos(end),
            Status = error ? new SpanStatus { Code = SpanStatus.Types.StatusCode.Error } : null,
        };
        if (httpStatus is { } code) root.Attributes.Add(Attr("http.response.status_code", code));
        var child = new Span
        {
            TraceId = trace, SpanId = NewSpanId(), ParentSpanId = root.SpanId, Kind = Span.Types.SpanKind.Internal,
            StartTimeUnixNano = root.StartTimeUnixNano + 1000, EndTimeUnixNano = root.StartTimeUnixNano + 2000,
            Events = { Evaluation(flag, variant) },
        };
        return [child, root];
    }

    public static ExportTraceServiceRequest Export(IEnumerable<Span> spans) => new()
    {
        // the resource ToJson writes, so both encodings carry the same export
        ResourceSpans = { new ResourceSpans { Resource = new Resource { Attributes = { Attr("service.name", "svc") } }, ScopeSpans = { new ScopeSpans { Spans = { spans } } } } },
    };

    /// <summary>The same export in OTLP/JSON (hex ids, 64-bit integers as strings, enums as integers).</summary>
    public static string ToJson(ExportTraceServiceRequest export)
    {
        static string Hex(ByteString b) => Convert.ToHexStringLower(b.Span);
        static string Value(AnyValue v) => v.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => $"{{\"stringValue\":{System.Text.Json.JsonSerializer.Serialize(v.StringValue)}}}",
            AnyValue.ValueOneofCase.IntValue => $"{{\"intValue\":\"{v.IntValue}\"}}",
            AnyValue.ValueOneofCase.BoolValue => $"{{\"boolValue\":{(v.BoolValue ? "true" : "false")}}}",
            _ => "{}",
        };
        static string Attrs(IEnumerable<KeyValue> kvs) => "[" + string.Join(",", kvs.Select(kv => $"{{\"key\":\"{kv.Key}\",\"value\":{Value(kv.Value)}}}")) + "]";
        var spans = export.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s =>
            $"{{\"traceId\":\"{Hex(s.TraceId)}\",\"spanId\":\"{Hex(s.SpanId)}\",\"parentSpanId\":\"{Hex(s.ParentSpanId)}\",\"name\":\"x\"," +
            $"\"kind\":{(int)s.Kind},\"startTimeUnixNano\":\"{s.StartTimeUnixNano}\",\"endTimeUnixNano\":\"{s.EndTimeUnixNano}\"," +
            $"\"attributes\":{Attrs(s.Attributes)},\"events\":[{string.Join(",", s.Events.Select(e => $"{{\"timeUnixNano\":\"{e.TimeUnixNano}\",\"name\":\"{e.Name}\",\"attributes\":{Attrs(e.Attributes)}}}"))}]," +
            $"\"status\":{{\"code\":{(int)(s.Status?.Code ?? 0)}}}}}");
        return $"{{\"resourceSpans\":[{{\"resource\":{{\"attributes\":[{{\"key\":\"service.name\",\"value\":{{\"stringValue\":\"svc\"}}}}]}},\"scopeSpans\":[{{\"scope\":{{\"name\":\"t\"}},\"spans\":[{string.Join(",", spans)}]}}]}}]}}";
    }
}
