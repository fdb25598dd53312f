using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>Builds OTLP logs exports for tests: feature_flag.evaluation records emitted in a span.</summary>
internal static class OtlpLogs
{
    /// <summary>
    /// An evaluation record emitted in <paramref name="span"/> (its trace and span id). <paramref name="legacyName"/>
    /// puts the event name in an <c>event.name</c> attribute, as SDKs older than opentelemetry-proto 1.5 do.
    /// </summary>
    public static LogRecord Evaluation(Span? span, string flag, string? variant, DateTimeOffset at, bool legacyName = false, string? reason = "targeting_match")
    {
        var record = new LogRecord { TimeUnixNano = Otlp.Nanos(at), ObservedTimeUnixNano = Otlp.Nanos(at) };
        if (span is not null)
        {
            record.TraceId = span.TraceId;
            record.SpanId = span.SpanId;
        }
        if (legacyName) record.Attributes.Add(Otlp.Attr("event.name", "feature_flag.evaluation"));
        else record.EventName = "feature_flag.evaluation";
        record.Attributes.Add(Otlp.Attr("feature_flag.key", flag));
        if (variant is not null) record.Attributes.Add(Otlp.Attr("feature_flag.result.variant", variant));
        if (reason is not null) record.Attributes.Add(Otlp.Attr("feature_flag.result.reason", reason));
        record.Attributes.Add(Otlp.Attr("feature_flag.context.id", "user-1"));
        return record;
    }

    /// <param name="environment">What the resource's <c>deployment.environment.name</c> says; null: no such attribute.</param>
    public static ExportLogsServiceRequest Export(IEnumerable<LogRecord> records, string? environment = null)
    {
        var resource = new Resource { Attributes = { Otlp.Attr("service.name", "svc") } };
        if (environment is not null) resource.Attributes.Add(Otlp.Attr("deployment.environment.name", environment));
        return new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { Resource = resource, ScopeLogs = { new ScopeLogs { LogRecords = { records } } } } } };
    }

    /// <summary>
    /// Moves each span's evaluation events into log records (same trace and span), leaving the spans without them:
    /// what an application that follows today's conventions sends instead of span events.
    /// </summary>
    public static (List<Span> Spans, List<LogRecord> Records) MoveEventsToLogs(IEnumerable<Span> spans, bool legacyName = false)
    {
        var records = new List<LogRecord>();
        var stripped = new List<Span>();
        foreach (var original in spans)
        {
            var span = original.Clone();
            foreach (var e in span.Events.Where(e => e.Name == "feature_flag.evaluation"))
            {
                var flag = e.Attributes.Single(a => a.Key == "feature_flag.key").Value.StringValue;
                var variant = e.Attributes.Single(a => a.Key == "feature_flag.result.variant").Value.StringValue;
                records.Add(Evaluation(span, flag, variant, FlagAnalyzer.Api.Telemetry.SpanAttribution.FromNanos(span.StartTimeUnixNano), legacyName));
            }
            span.Events.Clear();
            stripped.Add(span);
        }
        return (stripped, records);
    }

    /// <summary>The same export in OTLP/JSON (hex ids, 64-bit integers as strings, lowerCamelCase).</summary>
    public static string ToJson(ExportLogsServiceRequest export)
    {
        static string Hex(ByteString b) => Convert.ToHexStringLower(b.Span);
        static string Value(AnyValue v) => v.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => $"{{\"stringValue\":{System.Text.Json.JsonSerializer.Serialize(v.StringValue)}}}",
            AnyValue.ValueOneofCase.IntValue => $"{{\"intValue\":\"{v.IntValue}\"}}",
            _ => "{}",
        };
        static string Attrs(IEnumerable<KeyValue> kvs) => "[" + string.Join(",", kvs.Select(kv => $"{{\"key\":\"{kv.Key}\",\"value\":{Value(kv.Value)}}}")) + "]";
        static string Record(LogRecord r) =>
            $"{{\"timeUnixNano\":\"{r.TimeUnixNano}\",\"observedTimeUnixNano\":\"{r.ObservedTimeUnixNano}\",\"severityNumber\":9," +
            $"\"body\":{{\"stringValue\":\"evaluated\"}},\"traceId\":\"{Hex(r.TraceId)}\",\"spanId\":\"{Hex(r.SpanId)}\"," +
            (r.EventName.Length > 0 ? $"\"eventName\":\"{r.EventName}\"," : "") + $"\"attributes\":{Attrs(r.Attributes)}}}";
        var resources = export.ResourceLogs.Select(rl =>
            $"{{\"resource\":{{\"attributes\":{Attrs((IEnumerable<KeyValue>?)rl.Resource?.Attributes ?? [])}}},\"scopeLogs\":[{{\"scope\":{{\"name\":\"t\"}}," +
            $"\"logRecords\":[{string.Join(",", rl.ScopeLogs.SelectMany(s => s.LogRecords).Select(Record))}]}}]}}");
        return $"{{\"resourceLogs\":[{string.Join(",", resources)}]}}";
    }
}
