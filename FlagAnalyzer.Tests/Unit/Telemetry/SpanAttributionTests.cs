using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using static FlagAnalyzer.Tests.Unit.Telemetry.Otlp;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

public sealed class SpanAttributionTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static Attribution Attribute(IEnumerable<Span> spans) => SpanAttribution.Attribute(Export(spans), Now, SpanTimeLimits.Default);

    [Fact]
    public void EvaluationOnAChild_AttributesTheServerRootRequest()
    {
        var a = Attribute(Request("checkout", "new", Now.AddSeconds(-1), latencyMs: 250));

        var o = Assert.Single(a.Observations);
        Assert.Equal(("checkout", "new"), (o.FlagKey, o.Variant));
        Assert.Equal(250_000, o.LatencyMicros);
        Assert.Equal(Now.AddSeconds(-1), o.At);
        Assert.False(o.IsError);
        Assert.Equal(2, a.Spans);
        Assert.Null(a.Invalid);
    }

    [Fact]
    public void RootStatusError_Or_Http5xx_IsAnError_4xxIsNot()
    {
        Assert.True(Assert.Single(Attribute(Request("f", "on", Now, 10, error: true)).Observations).IsError);
        Assert.True(Assert.Single(Attribute(Request("f", "on", Now, 10, httpStatus: 502)).Observations).IsError);
        Assert.False(Assert.Single(Attribute(Request("f", "on", Now, 10, httpStatus: 404)).Observations).IsError);
    }

    [Fact]
    public void DeprecatedVariantAttribute_And_SpanAttributes_AreRead()
    {
        var legacy = Request("f", "on", Now, 10).ToList();
        legacy[0].Events[0] = Otlp.Evaluation("f", "blue", variantKey: "feature_flag.variant");
        Assert.Equal("blue", Assert.Single(Attribute(legacy).Observations).Variant);

        var onSpan = Request("f", "on", Now, 10).ToList();
        onSpan[0].Events.Clear();
        onSpan[0].Attributes.Add(Attr("feature_flag.key", "g"));
        onSpan[0].Attributes.Add(Attr("feature_flag.result.variant", "green"));
        Assert.Equal(("g", "green"), Assert.Single(Attribute(onSpan).Observations) is var o ? (o.FlagKey, o.Variant) : default);
    }

    [Fact]
    public void RootNotInTheExport_TheEvaluatingSpanIsTheRequest()
    {
        var spans = Request("f", "on", Now, latencyMs: 500).ToList();
        var child = spans[0];
        var a = Attribute([child]);

        var o = Assert.Single(a.Observations);
        Assert.Equal(1, o.LatencyMicros); // the child's own 1 µs, not the absent root's 500 ms
    }

    [Fact]
    public void ParentMarkedRemote_MakesTheTopSpanTheLocalRoot()
    {
        var spans = Request("f", "on", Now, latencyMs: 500).ToList();
        var root = spans[1];
        root.Kind = Span.Types.SpanKind.Internal;
        root.ParentSpanId = NewSpanId();       // its parent is in another process...
        root.Flags = 0x300;                    // ...and the exporter says so

        Assert.Equal(500_000, Assert.Single(Attribute(spans).Observations).LatencyMicros);

        root.Flags = 0;                        // unknown: the root is not known to be local, use the span itself
        Assert.Equal(1, Assert.Single(Attribute(spans).Observations).LatencyMicros);
    }

    [Fact]
    public void ARequestCountsOncePerFlag_TheFirstEvaluationWins()
    {
        var spans = Request("f", "on", Now, 10).ToList();
        spans[0].Events.Add(Otlp.Evaluation("f", "off"));
        spans[0].Events.Add(Otlp.Evaluation("other", "b"));

        var a = Attribute(spans);

        Assert.Equal([("f", "on"), ("other", "b")], a.Observations.Select(o => (o.FlagKey, o.Variant)));
    }

    [Fact]
    public void EvaluationWithoutVariant_IsCountedNotObserved_OtherEventsAreIgnored()
    {
        var spans = Request("f", "on", Now, 10).ToList();
        spans[0].Events[0].Attributes.RemoveAt(1);
        spans[1].Events.Add(new Span.Types.Event { Name = "exception", Attributes = { Attr("feature_flag.key", "x") } });

        var a = Attribute(spans);

        Assert.Empty(a.Observations);
        Assert.Equal(1, a.SpansWithoutVariant);
        Assert.Equal("f", Assert.Single(a.Evaluations).FlagKey);
    }

    [Fact]
    public void SpansWithoutFlags_AreCountedOnly()
    {
        var spans = Request("f", "on", Now, 10).ToList();
        spans[0].Events.Clear();
        var a = Attribute(spans);
        Assert.Equal(2, a.Spans);
        Assert.Empty(a.Observations);
        Assert.Empty(a.Evaluations);
    }

    [Theory]
    [InlineData(0, -5, "ends before it starts")]
    [InlineData(0, 2 * 3600 * 1000, "lasts longer than")]
    [InlineData(3600, 10, "in the future")]
    [InlineData(-3 * 86400, 10, "ago")]
    public void AbsurdRequestTimes_RefuseTheWholeExport(int endOffsetSeconds, double latencyMs, string expected)
    {
        var good = Request("f", "on", Now, 10);
        var bad = Request("f", "on", Now.AddSeconds(endOffsetSeconds), latencyMs);

        var a = Attribute(good.Concat(bad));

        Assert.Contains(expected, a.Invalid);
        Assert.Empty(a.Observations);
    }

    [Fact]
    public void ZeroTimes_AreAbsurd()
    {
        var spans = Request("f", "on", Now, 10).ToList();
        spans[1].StartTimeUnixNano = 0;
        Assert.Contains("no start or end time", Attribute(spans).Invalid);
    }

    [Fact]
    public void ParentCycle_DoesNotHang()
    {
        var spans = Request("f", "on", Now, 10).ToList();
        spans[1].ParentSpanId = spans[0].SpanId; // root's parent is its own child
        spans[1].Kind = Span.Types.SpanKind.Internal;
        Assert.Single(Attribute(spans).Observations);
    }
}
