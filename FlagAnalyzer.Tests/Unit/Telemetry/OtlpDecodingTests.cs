using System.Text;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>Both OTLP encodings decode into the same messages; malformed bodies fail with a clear exception.</summary>
public sealed class OtlpDecodingTests
{
    private static readonly DateTimeOffset End = new(2026, 3, 1, 12, 0, 30, TimeSpan.Zero);

    [Fact]
    public void Protobuf_FieldNumbersMatchTheOtlpWireFormat()
    {
        // written by hand from opentelemetry-proto v1.11.0: ExportTraceServiceRequest.resource_spans = 1,
        // ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2, Span.trace_id = 1, span_id = 2, parent_span_id = 4,
        // kind = 6, start = 7 (fixed64), end = 8 (fixed64), attributes = 9, events = 11, status = 15 (code = 3),
        // flags = 16 (fixed32); Event.name = 2, attributes = 3; KeyValue.key = 1, value = 2; AnyValue.string_value = 1
        var kv = Message(w => { w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteString("feature_flag.key");
            w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteBytes(Message(v => { v.WriteTag(1, WireFormat.WireType.LengthDelimited); v.WriteString("checkout"); })); });
        var ev = Message(w => { w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteString("feature_flag.evaluation");
            w.WriteTag(3, WireFormat.WireType.LengthDelimited); w.WriteBytes(kv); });
        var span = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }));
            w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(new byte[8] { 1, 1, 1, 1, 1, 1, 1, 1 }));
            w.WriteTag(4, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(new byte[8] { 2, 2, 2, 2, 2, 2, 2, 2 }));
            w.WriteTag(5, WireFormat.WireType.LengthDelimited); w.WriteString("GET /checkout"); // name: skipped
            w.WriteTag(6, WireFormat.WireType.Varint); w.WriteEnum(2);
            w.WriteTag(7, WireFormat.WireType.Fixed64); w.WriteFixed64(1_000);
            w.WriteTag(8, WireFormat.WireType.Fixed64); w.WriteFixed64(5_000);
            w.WriteTag(11, WireFormat.WireType.LengthDelimited); w.WriteBytes(ev);
            w.WriteTag(15, WireFormat.WireType.LengthDelimited); w.WriteBytes(Message(s => { s.WriteTag(3, WireFormat.WireType.Varint); s.WriteEnum(2); }));
            w.WriteTag(16, WireFormat.WireType.Fixed32); w.WriteFixed32(0x301);
        });
        var body = Message(w => { w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteBytes(Message(rs =>
        {
            rs.WriteTag(1, WireFormat.WireType.LengthDelimited); rs.WriteBytes(Message(_ => { })); // resource: skipped
            rs.WriteTag(2, WireFormat.WireType.LengthDelimited); rs.WriteBytes(Message(ss => { ss.WriteTag(2, WireFormat.WireType.LengthDelimited); ss.WriteBytes(span); }));
        })); });

        var s = TraceIntake.Decode(body.Span, OtlpEncoding.Protobuf).ResourceSpans[0].ScopeSpans[0].Spans[0];

        Assert.Equal(16, s.TraceId.Length);
        Assert.Equal(2, s.ParentSpanId[0]);
        Assert.Equal(Span.Types.SpanKind.Server, s.Kind);
        Assert.Equal(1_000ul, s.StartTimeUnixNano);
        Assert.Equal(5_000ul, s.EndTimeUnixNano);
        Assert.Equal(0x301u, s.Flags);
        Assert.Equal(SpanStatus.Types.StatusCode.Error, s.Status.Code);
        Assert.Equal("feature_flag.evaluation", s.Events[0].Name);
        Assert.Equal("checkout", s.Events[0].Attributes[0].Value.StringValue);
    }

    [Fact]
    public void Json_And_Protobuf_DecodeToTheSameExport()
    {
        var export = Otlp.Export(Otlp.Request("checkout", "on", End, 120, httpStatus: 503).Concat(Otlp.Request("checkout", "off", End, 80, error: true)));

        var fromProtobuf = TraceIntake.Decode(export.ToByteArray(), OtlpEncoding.Protobuf);
        var fromJson = TraceIntake.Decode(Encoding.UTF8.GetBytes(Otlp.ToJson(export)), OtlpEncoding.Json);

        Assert.Equal(export, fromProtobuf);
        // JSON carries an UNSET status explicitly; otherwise the two are the same message
        foreach (var span in fromJson.ResourceSpans[0].ScopeSpans[0].Spans.Where(s => s.Status.Code == SpanStatus.Types.StatusCode.Unset)) span.Status = null;
        Assert.Equal(export, fromJson);
    }

    [Fact]
    public void Json_AcceptsNumbersForInt64_SnakeCaseNames_EnumNames_AndSkipsUnknownFields()
    {
        const string json = """
            { "resource_spans": [ { "schemaUrl": "x", "scope_spans": [ { "spans": [ {
                "trace_id": "5B8EFFF798038103D269B633813FC60C", "span_id": "EEE19B7EC3C1B174", "parentSpanId": "",
                "kind": "SPAN_KIND_SERVER", "start_time_unix_nano": 1544712660000000000, "endTimeUnixNano": "1544712661000000000",
                "droppedAttributesCount": 0, "links": [ { "traceId": "00" } ],
                "attributes": [ { "key": "http.response.status_code", "value": { "intValue": 500 } },
                                { "key": "nested", "value": { "arrayValue": { "values": [ { "kvlistValue": { "values": [ { "key": "a", "value": { "doubleValue": "NaN" } } ] } } ] } } },
                                { "key": "raw", "value": { "bytesValue": "AQID" } } ],
                "status": { "code": "STATUS_CODE_ERROR", "message": "boom" } } ] } ] } ] }
            """;

        var span = TraceIntake.Decode(Encoding.UTF8.GetBytes(json), OtlpEncoding.Json).ResourceSpans[0].ScopeSpans[0].Spans[0];

        Assert.Equal("5b8efff798038103d269b633813fc60c", Convert.ToHexStringLower(span.TraceId.Span));
        Assert.True(span.ParentSpanId.IsEmpty);
        Assert.Equal(Span.Types.SpanKind.Server, span.Kind);
        Assert.Equal(1544712660000000000ul, span.StartTimeUnixNano);
        Assert.Equal(1544712661000000000ul, span.EndTimeUnixNano);
        Assert.Equal(500, span.Attributes[0].Value.IntValue);
        Assert.True(double.IsNaN(span.Attributes[1].Value.ArrayValue.Values[0].KvlistValue.Values[0].Value.DoubleValue));
        Assert.Equal(new byte[] { 1, 2, 3 }, span.Attributes[2].Value.BytesValue.ToByteArray());
        Assert.Equal(SpanStatus.Types.StatusCode.Error, span.Status.Code);
    }

    [Theory]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}""")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"0011"}]}]}]}""")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-5"}]}]}]}""")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":true}]}]}]}""")]
    [InlineData("""{"resourceSpans":{}}""")]
    [InlineData("""{"resourceSpans":[""")]
    [InlineData("""[]""")]
    [InlineData("""{} {}""")]
    [InlineData("")]
    public void Json_Malformed_Throws(string json)
    {
        var ex = Record.Exception(() => TraceIntake.Decode(Encoding.UTF8.GetBytes(json), OtlpEncoding.Json));
        Assert.True(ex is OtlpDecodeException or System.Text.Json.JsonException, ex?.GetType().Name ?? "no exception");
    }

    [Fact]
    public void Protobuf_Truncated_Throws()
    {
        var bytes = Otlp.Export(Otlp.Request("checkout", "on", End, 120)).ToByteArray();
        Assert.Throws<InvalidProtocolBufferException>(() => TraceIntake.Decode(bytes.AsSpan(0, bytes.Length - 3), OtlpEncoding.Protobuf));
    }

    [Theory]
    [InlineData("application/x-protobuf", OtlpEncoding.Protobuf)]
    [InlineData("application/json; charset=utf-8", OtlpEncoding.Json)]
    [InlineData("Application/JSON", OtlpEncoding.Json)]
    [InlineData("text/plain", null)]
    [InlineData(null, null)]
    public void ContentTypes(string? contentType, OtlpEncoding? expected) => Assert.Equal(expected, OtlpBody.EncodingOf(contentType));

    private static ByteString Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var w = new CodedOutputStream(ms);
        write(w);
        w.Flush();
        return ByteString.CopyFrom(ms.ToArray());
    }
}
