using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Microsoft.Extensions.Time.Testing;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

/// <summary>The log ↔ span join: either order within the window, nothing after it, bounded memory, never across environments.</summary>
public sealed class EvaluationJoinTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 30, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Now);

    private static (List<Span> Spans, LogEvaluation Evaluation) Request(string variant = "on", double latencyMs = 40, bool error = false)
    {
        var spans = Otlp.Request("join", variant, Now, latencyMs, error).ToList();
        var child = spans[0];
        child.Events.Clear();
        return (spans, new LogEvaluation(child.TraceId, child.SpanId, "join", variant, "production", "production"));
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

    /// <summary>The spans under a resource naming <paramref name="environment"/> (none: null).</summary>
    private static ExportTraceServiceRequest Export(IEnumerable<Span> spans, string? environment)
    {
        var export = Otlp.Export(spans);
        if (environment is not null) export.ResourceSpans[0].Resource.Attributes.Add(Otlp.Attr(SpanAttribution.EnvironmentAttribute, environment));
        return export;
    }

    private static LogEvaluation In(LogEvaluation e, string environment, string flag = "join") => e with { FlagKey = flag, Environment = environment };

    [Fact]
    public void SpansFirst_AStagingSpan_NeverJoinsAProductionRecord_ButJoinsAStagingOne_UnderAResourceNamingStaging()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request();
        var export = Export(spans, "staging");
        join.Accepted(export, join.AttachWaiting(export));

        var production = join.Join([In(evaluation, "production")]);
        Assert.Equal((0, 1), (production.JoinedCount, production.OtherEnvironment));
        Assert.Empty(production.Waiting); // its span has come: nothing to wait for
        Assert.Empty(Attribute(production.Joined));
        Assert.Equal(1, join.EvaluationsOtherEnvironment);

        var staging = join.Join([In(evaluation, "staging")]);
        Assert.Equal((1, 0), (staging.JoinedCount, staging.OtherEnvironment));
        var observation = Assert.Single(Attribute(staging.Joined));
        Assert.Equal(("join", "staging"), (observation.FlagKey, observation.Environment));
    }

    [Fact]
    public void LogsFirst_OnlyTheRecordsOfTheSpansEnvironment_AreAttached_TheOthersStopWaiting()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (spans, evaluation) = Request();
        Assert.Equal(2, join.Join([In(evaluation, "production", "join-production"), In(evaluation, "staging", "join-staging")]).Waiting.Count);

        var export = Export(spans, "staging");
        var attached = join.AttachWaiting(export);

        var observation = Assert.Single(Attribute(export));
        Assert.Equal(("join-staging", "staging"), (observation.FlagKey, observation.Environment));
        Assert.Equal(1, join.EvaluationsOtherEnvironment);
        join.Accepted(export, attached);
        Assert.Equal(0, join.Counts.Waiting);
    }

    [Fact]
    public void ASpanNamingNoEnvironment_CountsInTheFlagsHome_ElseItsScopedSendersEnvironment()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var (unnamed, evaluation) = Request();
        var export = Export(unnamed, null);
        join.Accepted(export, join.AttachWaiting(export));
        // the flag's home is production: a record of staging is not this span's, one of production is
        Assert.Equal(0, join.Join([In(evaluation, "staging")]).JoinedCount);
        Assert.Equal(1, join.Join([In(evaluation, "production")]).JoinedCount);

        var (fromStagingKey, other) = Request();
        var scoped = Export(fromStagingKey, null);
        join.Accepted(scoped, join.AttachWaiting(scoped), new Actor("k1", "staging ingest", "ingest") { Environment = "staging" });
        Assert.Equal(0, join.Join([In(other, "production")]).JoinedCount);
        Assert.Equal(1, join.Join([In(other, "staging")]).JoinedCount);
    }

    [Fact]
    public void AScopedSendersSpansNamingAnotherEnvironment_AreNotRemembered_NorGetWaitingRecords()
    {
        var join = new EvaluationJoin(TimeSpan.FromSeconds(30), 100, _clock);
        var stagingKey = new Actor("k1", "staging ingest", "ingest") { Environment = "staging" };
        var (spans, evaluation) = Request();
        join.Join([evaluation]); // a production record, waiting

        var export = Export(spans, "production");
        Assert.Null(join.AttachWaiting(export, stagingKey));
        join.Accepted(export, null, stagingKey);

        Assert.Equal((0, 1), join.Counts); // the record still waits; no span was remembered for it to join
        Assert.Empty(Attribute(export));
    }
}
