using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>The log ↔ span join: either order within the window, nothing after it, bounded memory.</summary>
public sealed class EvaluationJoinTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 30, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Now);

    private static (List<Span> Spans, LogEvaluation Evaluation) Request(string variant = "on", double latencyMs = 40, bool error = false)
    {
        var spans = Otlp.Request("join", variant, Now, latencyMs, error).ToList();
        var child = spans[0];
        child.Events.Clear();
        return (spans, new LogEvaluation(child.TraceId, child.SpanId, "join", variant));
    }

    private static List<FlagObservation> Attribute(ExportTraceServiceRequest export) =>
        SpanAttribution.Attribute(export, Now, SpanTimeLimits.Default).Observations.ToList();

    [Fact]
    public void SpansFirst_TheLogBecomesAnEventOnACopyOfItsRequestSpan_WithTheRequestsTimesAndError()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request(latencyMs: 40, error: true);
        var export = Otlp.Export(spans);
        join.Accepted(export, join.AttachWaiting(export));
        _clock.Advance(TimeSpan.FromSeconds(5));

        var result = join.Join([evaluation]);

        Assert.Equal(1, result.JoinedCount);
        Assert.Empty(result.Waiting);
        var observation = Assert.Single(Attribute(result.Joined));
        Assert.Equal(("join", "on", 40_000L, true), (observation.FlagKey, observation.Variant, observation.LatencyMicros, observation.IsError));
        Assert.Equal(Now, observation.At);
    }

    [Fact]
    public void LogsFirst_TheWaitingEvaluationIsAttachedToItsSpan_AndStopsWaitingOnceAccepted()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request(variant: "off", latencyMs: 20);
        var logged = join.Join([evaluation]);
        Assert.Equal(0, logged.JoinedCount);
        Assert.Single(logged.Waiting);
        _clock.Advance(TimeSpan.FromSeconds(29));

        var export = Otlp.Export(spans);
        var attached = join.AttachWaiting(export);

        var observation = Assert.Single(Attribute(export));
        Assert.Equal(("join", "off", 20_000L, false), (observation.FlagKey, observation.Variant, observation.LatencyMicros, observation.IsError));
        join.Accepted(export, attached);
        Assert.Equal(0, join.Counts.Waiting);
        // a retry of the same spans finds nothing waiting any more: the request is not counted twice
        Assert.Null(join.AttachWaiting(Otlp.Export(spans.Select(s => { var c = s.Clone(); c.Events.Clear(); return c; }))));
    }

    [Fact]
    public void PastTheWindow_NeitherSideIsJoined_AndTheLateEvaluationIsCountedAsExpired()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request();
        join.Join([evaluation]);
        _clock.Advance(TimeSpan.FromSeconds(31));

        var export = Otlp.Export(spans);
        Assert.Null(join.AttachWaiting(export));
        Assert.Equal(1, join.EvaluationsExpired);

        join.Accepted(export, null);
        _clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, join.Join([Request().Evaluation with { TraceId = spans[0].TraceId, SpanId = spans[0].SpanId }]).JoinedCount);
        Assert.Equal((0, 1), join.Counts); // the spans aged out; the evaluation now waits in their place
    }

    [Fact]
    public void AtTheCap_NewEntriesAreNotKept_AndCounted()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 2, _clock);
        var result = join.Join([Request().Evaluation, Request().Evaluation, Request().Evaluation]);
        Assert.Equal(2, result.Waiting.Count);
        Assert.Equal(1, result.NotKept);
        Assert.Equal(1, join.EvaluationsNotKept);

        var export = Otlp.Export(Request().Spans.Concat(Request().Spans)); // four spans
        join.Accepted(export, null);
        Assert.Equal(2, join.Counts.Spans);
        Assert.Equal(2, join.SpansNotKept);
    }

    [Fact]
    public void ForgottenEvaluations_NoLongerWait()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request();
        join.Forget(join.Join([evaluation]).Waiting);
        Assert.Null(join.AttachWaiting(Otlp.Export(spans)));
    }
}
