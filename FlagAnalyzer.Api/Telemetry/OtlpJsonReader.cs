using System.Buffers.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// Reads an OTLP/JSON trace export into the same messages the protobuf parser fills, so one attribution serves
/// both encodings. OTLP/JSON is the protobuf JSON mapping with the OTLP deviations: trace and span ids are hex
/// (not base64), 64-bit integers arrive as strings or numbers, enums as integers (names are accepted too), keys
/// in lowerCamelCase (the original snake_case names are accepted). Unknown fields are skipped; JSON null means
/// "not set".
/// </summary>
public static partial class OtlpJsonReader
{
    public static ExportTraceServiceRequest Read(ReadOnlySpan<byte> utf8) =>
        ReadExport<ExportTraceServiceRequest>(utf8, static (ref r, req, name) =>
        {
            if (Is(name, "resourceSpans"u8, "resource_spans"u8)) ReadArray(ref r, req.ResourceSpans, ReadResourceSpans);
            else r.Skip();
        });

    /// <summary>One export request: the body is exactly one JSON object, read by <paramref name="properties"/>.</summary>
    private static T ReadExport<T>(ReadOnlySpan<byte> utf8, PropertyHandler<T> properties) where T : new()
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new OtlpDecodeException($"the body must be a JSON object ({typeof(T).Name})");
        var request = new T();
        ReadObject(ref reader, request, properties);
        if (reader.Read()) throw new OtlpDecodeException("unexpected content after the JSON object");
        return request;
    }

    private delegate void PropertyHandler<in T>(ref Utf8JsonReader reader, T target, ReadOnlySpan<byte> name);
    private delegate T ItemReader<out T>(ref Utf8JsonReader reader);

    private static ResourceSpans ReadResourceSpans(ref Utf8JsonReader reader)
    {
        var rs = new ResourceSpans();
        ReadObject(ref reader, rs, static (ref r, x, name) =>
        {
            if (Is(name, "scopeSpans"u8, "scope_spans"u8)) ReadArray(ref r, x.ScopeSpans, ReadScopeSpans);
            else if (name.SequenceEqual("resource"u8)) x.Resource = ReadResource(ref r);
            else r.Skip();
        });
        return rs;
    }

    private static Resource ReadResource(ref Utf8JsonReader reader)
    {
        var resource = new Resource();
        ReadObject(ref reader, resource, static (ref r, x, name) =>
        {
            if (name.SequenceEqual("attributes"u8)) ReadArray(ref r, x.Attributes, ReadKeyValue);
            else r.Skip();
        });
        return resource;
    }

    private static ScopeSpans ReadScopeSpans(ref Utf8JsonReader reader)
    {
        var ss = new ScopeSpans();
        ReadObject(ref reader, ss, static (ref r, x, name) =>
        {
            if (name.SequenceEqual("spans"u8)) ReadArray(ref r, x.Spans, ReadSpan);
            else r.Skip();
        });
        return ss;
    }

    private static Span ReadSpan(ref Utf8JsonReader reader)
    {
        var span = new Span();
        ReadObject(ref reader, span, static (ref r, s, name) =>
        {
            if (Is(name, "traceId"u8, "trace_id"u8)) s.TraceId = ReadHexId(ref r, 16, "traceId");
            else if (Is(name, "spanId"u8, "span_id"u8)) s.SpanId = ReadHexId(ref r, 8, "spanId");
            else if (Is(name, "parentSpanId"u8, "parent_span_id"u8)) s.ParentSpanId = ReadHexId(ref r, 8, "parentSpanId");
            else if (name.SequenceEqual("flags"u8)) s.Flags = (uint)ReadInteger(ref r, "flags", 0, uint.MaxValue);
            else if (name.SequenceEqual("kind"u8)) s.Kind = (Span.Types.SpanKind)ReadEnum(ref r, "kind", SpanKindNames);
            else if (Is(name, "startTimeUnixNano"u8, "start_time_unix_nano"u8)) s.StartTimeUnixNano = ReadUInt64(ref r, "startTimeUnixNano");
            else if (Is(name, "endTimeUnixNano"u8, "end_time_unix_nano"u8)) s.EndTimeUnixNano = ReadUInt64(ref r, "endTimeUnixNano");
            else if (name.SequenceEqual("attributes"u8)) ReadArray(ref r, s.Attributes, ReadKeyValue);
            else if (name.SequenceEqual("events"u8)) ReadArray(ref r, s.Events, ReadEvent);
            else if (name.SequenceEqual("status"u8)) s.Status = ReadStatus(ref r);
            else r.Skip();
        });
        return span;
    }

    private static Span.Types.Event ReadEvent(ref Utf8JsonReader reader)
    {
        var e = new Span.Types.Event();
        ReadObject(ref reader, e, static (ref r, x, name) =>
        {
            if (Is(name, "timeUnixNano"u8, "time_unix_nano"u8)) x.TimeUnixNano = ReadUInt64(ref r, "timeUnixNano");
            else if (name.SequenceEqual("name"u8)) x.Name = ReadString(ref r, "name");
            else if (name.SequenceEqual("attributes"u8)) ReadArray(ref r, x.Attributes, ReadKeyValue);
            else r.Skip();
        });
        return e;
    }

    private static SpanStatus? ReadStatus(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        var status = new SpanStatus();
        ReadObject(ref reader, status, static (ref r, x, name) =>
        {
            if (name.SequenceEqual("code"u8)) x.Code = (SpanStatus.Types.StatusCode)ReadEnum(ref r, "status.code", StatusCodeNames);
            else r.Skip();
        });
        return status;
    }

    private static KeyValue ReadKeyValue(ref Utf8JsonReader reader)
    {
        var kv = new KeyValue();
        ReadObject(ref reader, kv, static (ref r, x, name) =>
        {
            if (name.SequenceEqual("key"u8)) x.Key = ReadString(ref r, "key");
            else if (name.SequenceEqual("value"u8)) x.Value = ReadAnyValue(ref r);
            else r.Skip();
        });
        return kv;
    }

    private static AnyValue ReadAnyValue(ref Utf8JsonReader reader)
    {
        var v = new AnyValue();
        if (reader.TokenType == JsonTokenType.Null) return v;
        ReadObject(ref reader, v, static (ref r, x, name) =>
        {
            if (r.TokenType == JsonTokenType.Null) return;
            if (Is(name, "stringValue"u8, "string_value"u8)) x.StringValue = ReadString(ref r, "stringValue");
            else if (Is(name, "boolValue"u8, "bool_value"u8))
            {
                if (r.TokenType is not (JsonTokenType.True or JsonTokenType.False)) throw new OtlpDecodeException("boolValue must be true or false");
                x.BoolValue = r.GetBoolean();
            }
            else if (Is(name, "intValue"u8, "int_value"u8)) x.IntValue = ReadInteger(ref r, "intValue", long.MinValue, long.MaxValue);
            else if (Is(name, "doubleValue"u8, "double_value"u8)) x.DoubleValue = ReadDouble(ref r, "doubleValue");
            else if (Is(name, "bytesValue"u8, "bytes_value"u8)) x.BytesValue = ByteString.CopyFrom(ReadBase64(ref r, "bytesValue"));
            else if (Is(name, "arrayValue"u8, "array_value"u8))
            {
                var array = new ArrayValue();
                ReadObject(ref r, array, static (ref r2, a, n) =>
                {
                    if (n.SequenceEqual("values"u8)) ReadArray(ref r2, a.Values, ReadAnyValue);
                    else r2.Skip();
                });
                x.ArrayValue = array;
            }
            else if (Is(name, "kvlistValue"u8, "kvlist_value"u8))
            {
                var list = new KeyValueList();
                ReadObject(ref r, list, static (ref r2, l, n) =>
                {
                    if (n.SequenceEqual("values"u8)) ReadArray(ref r2, l.Values, ReadKeyValue);
                    else r2.Skip();
                });
                x.KvlistValue = list;
            }
            else r.Skip();
        });
        return v;
    }

    // ---- primitives ----

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> camel, ReadOnlySpan<byte> snake) =>
        name.SequenceEqual(camel) || name.SequenceEqual(snake);

    /// <summary>At a StartObject (or null): calls the handler at each property's value; leaves the reader on EndObject.</summary>
    private static void ReadObject<T>(ref Utf8JsonReader reader, T target, PropertyHandler<T> onProperty)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject) throw new OtlpDecodeException($"expected a JSON object at offset {reader.TokenStartIndex}");
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            // escaped property names are rare: only they pay for an unescaped copy
            var name = reader.ValueIsEscaped ? System.Text.Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan;
            Next(ref reader);
            onProperty(ref reader, target, name);
        }
    }

    private static void ReadArray<T>(ref Utf8JsonReader reader, ICollection<T> into, ItemReader<T> item)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartArray) throw new OtlpDecodeException($"expected a JSON array at offset {reader.TokenStartIndex}");
        while (Next(ref reader) != JsonTokenType.EndArray) into.Add(item(ref reader));
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new OtlpDecodeException("the JSON ends too early");
        return reader.TokenType;
    }

    private static string ReadString(ref Utf8JsonReader reader, string field) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new OtlpDecodeException($"{field} must be a string");

    private static ByteString ReadHexId(ref Utf8JsonReader reader, int length, string field)
    {
        if (reader.TokenType == JsonTokenType.Null) return ByteString.Empty;
        if (reader.TokenType != JsonTokenType.String) throw new OtlpDecodeException($"{field} must be a hex string");
        var hex = reader.ValueSpan;
        if (hex.Length == 0) return ByteString.Empty;
        if (hex.Length != length * 2 || reader.ValueIsEscaped) throw new OtlpDecodeException($"{field} must be {length * 2} hex digits");
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < length; i++)
        {
            var hi = HexValue(hex[2 * i]);
            var lo = HexValue(hex[2 * i + 1]);
            if ((hi | lo) < 0) throw new OtlpDecodeException($"{field} must be {length * 2} hex digits");
            bytes[i] = (byte)(hi << 4 | lo);
        }
        return ByteString.CopyFrom(bytes[..length]);
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>A 64-bit unsigned integer as a JSON number or a decimal string (the protobuf JSON mapping allows both).</summary>
    private static ulong ReadUInt64(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out var n)) return n;
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Utf8Parser.TryParse(reader.ValueSpan, out ulong s, out var used) && used == reader.ValueSpan.Length) return s;
        if (reader.TokenType == JsonTokenType.Null) return 0;
        throw new OtlpDecodeException($"{field} must be an unsigned 64-bit integer (number or decimal string)");
    }

    private static long ReadInteger(ref Utf8JsonReader reader, string field, long min, long max)
    {
        long value;
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n)) value = n;
        else if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Utf8Parser.TryParse(reader.ValueSpan, out long s, out var used) && used == reader.ValueSpan.Length) value = s;
        else throw new OtlpDecodeException($"{field} must be an integer (number or decimal string)");
        if (value < min || value > max) throw new OtlpDecodeException($"{field} is out of range");
        return value;
    }

    private static double ReadDouble(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.GetDouble();
        if (reader.TokenType == JsonTokenType.String)
        {
            var s = reader.GetString();
            switch (s)
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
            if (double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)) return d;
        }
        throw new OtlpDecodeException($"{field} must be a number");
    }

    private static byte[] ReadBase64(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType == JsonTokenType.String && reader.TryGetBytesFromBase64(out var bytes)) return bytes;
        // the protobuf JSON mapping also accepts URL-safe base64
        if (reader.TokenType == JsonTokenType.String && Base64Url.IsValid(reader.ValueSpan)) return Base64Url.DecodeFromUtf8(reader.ValueSpan);
        throw new OtlpDecodeException($"{field} must be base64");
    }

    private static readonly string[] SpanKindNames =
        ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"];
    private static readonly string[] StatusCodeNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

    /// <summary>OTLP/JSON sends enums as integers; a name is accepted too. An unknown integer is kept (proto3 open enums).</summary>
    private static int ReadEnum(ref Utf8JsonReader reader, string field, string[] names)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n)) return n;
        if (reader.TokenType == JsonTokenType.String)
        {
            var index = Array.IndexOf(names, reader.GetString());
            if (index >= 0) return index;
        }
        if (reader.TokenType == JsonTokenType.Null) return 0;
        throw new OtlpDecodeException($"{field} must be an enum number");
    }
}

/// <summary>The body is not a well-formed OTLP export; the message says where.</summary>
public sealed class OtlpDecodeException(string message) : Exception(message);
