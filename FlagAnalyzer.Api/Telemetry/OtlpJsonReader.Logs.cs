using System.Text.Json;
using FlagAnalyzer.Api.Telemetry.Otlp;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>OTLP/JSON logs: the same mapping and deviations as traces (hex trace and span ids, 64-bit integers as strings).</summary>
public static partial class OtlpJsonReader
{
    public static ExportLogsServiceRequest ReadLogs(ReadOnlySpan<byte> utf8) =>
        ReadExport<ExportLogsServiceRequest>(utf8, static (ref r, req, name) =>
        {
            if (Is(name, "resourceLogs"u8, "resource_logs"u8)) ReadArray(ref r, req.ResourceLogs, ReadResourceLogs);
            else r.Skip();
        });

    private static ResourceLogs ReadResourceLogs(ref Utf8JsonReader reader)
    {
        var rl = new ResourceLogs();
        ReadObject(ref reader, rl, static (ref r, x, name) =>
        {
            if (Is(name, "scopeLogs"u8, "scope_logs"u8)) ReadArray(ref r, x.ScopeLogs, ReadScopeLogs);
            else if (name.SequenceEqual("resource"u8)) x.Resource = ReadResource(ref r);
            else r.Skip();
        });
        return rl;
    }

    private static ScopeLogs ReadScopeLogs(ref Utf8JsonReader reader)
    {
        var sl = new ScopeLogs();
        ReadObject(ref reader, sl, static (ref r, x, name) =>
        {
            if (Is(name, "logRecords"u8, "log_records"u8)) ReadArray(ref r, x.LogRecords, ReadLogRecord);
            else r.Skip();
        });
        return sl;
    }

    private static LogRecord ReadLogRecord(ref Utf8JsonReader reader)
    {
        var record = new LogRecord();
        ReadObject(ref reader, record, static (ref r, x, name) =>
        {
            if (Is(name, "timeUnixNano"u8, "time_unix_nano"u8)) x.TimeUnixNano = ReadUInt64(ref r, "timeUnixNano");
            else if (Is(name, "observedTimeUnixNano"u8, "observed_time_unix_nano"u8)) x.ObservedTimeUnixNano = ReadUInt64(ref r, "observedTimeUnixNano");
            else if (Is(name, "traceId"u8, "trace_id"u8)) x.TraceId = ReadHexId(ref r, 16, "traceId");
            else if (Is(name, "spanId"u8, "span_id"u8)) x.SpanId = ReadHexId(ref r, 8, "spanId");
            else if (Is(name, "eventName"u8, "event_name"u8)) x.EventName = r.TokenType == JsonTokenType.Null ? "" : ReadString(ref r, "eventName");
            else if (name.SequenceEqual("attributes"u8)) ReadArray(ref r, x.Attributes, ReadKeyValue);
            else r.Skip();
        });
        return record;
    }
}
