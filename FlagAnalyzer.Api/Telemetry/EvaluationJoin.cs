using System.Buffers.Binary;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Telemetry.Otlp;
using Google.Protobuf;

namespace FlagAnalyzer.Api.Telemetry;

/// <summary>A <c>feature_flag.evaluation</c> log record that named a flag and a variant, with the span it was emitted in.</summary>
/// <param name="Environment">Where the record counts (<see cref="ObservationResolver.Place"/>: its resource's, else its sender's, else the flag's home).</param>
/// <param name="Home">The flag's home: where a span that names no environment (nor was sent by a scoped key) counts for this flag.</param>
public readonly record struct LogEvaluation(ByteString TraceId, ByteString SpanId, string FlagKey, string Variant, string Environment, string Home)
{
    /// <summary>
    /// Whether a request span counts where this record does, for this flag: the span's environment
    /// (<see cref="ObservationResolver.TryNamedEnvironment"/>) else the flag's home, as <c>/v1/traces</c> would place it.
    /// </summary>
    public bool CountsWith(string? spanEnvironment) => (spanEnvironment ?? Home) == Environment;
}

/// <summary>
/// Joins <c>feature_flag.evaluation</c> log records to the request spans of the same trace. Exporters send logs and
/// spans separately, in either order, seconds apart, so each side waits here for the other for
/// <see cref="Window"/>: spans as (trace id, span id) → a trimmed copy of the request span they belong to (times,
/// status, HTTP status; shared by the request's spans), log evaluations as (trace id, span id) → flag and variant.
/// A log that finds its span becomes a span event on that request span (<see cref="Join"/>); spans that find waiting
/// logs get them as span events before they are attributed (<see cref="AttachWaiting"/>): either way the request goes
/// through <see cref="SpanAttribution"/> and <see cref="TraceIntake.AcceptAsync"/> like one that sent span events.
/// The environment is part of the match (issue 26): a record joins a span only when both count in the same environment
/// for its flag, so a staging span never lends its latency and errors to a production record, nor the other way round;
/// such a record stays an exposure only. Spans a sender may not report for (a scoped key's spans naming another
/// environment, which <c>/v1/traces</c> rejects) are not remembered, and waiting records are not attached to them.
/// Memory is bounded: each side holds at most <see cref="MaxEntries"/> entries; past it new ones are not kept and
/// counted. Entries older than the window are dropped as the next call comes. Thread-safe.
/// </summary>
public sealed class EvaluationJoin(TimeSpan window, int maxEntries, TimeProvider clock)
{
    private readonly object _gate = new();
    // a span's environment: what its resource names, else its sender's scope; null: each flag's home
    private readonly Dictionary<IdKey, (Span Request, string? Environment, long Ticks)> _spans = new();
    private readonly Queue<(IdKey Key, long Ticks)> _spanOrder = new();
    private readonly Dictionary<IdKey, (List<LogEvaluation> Evaluations, long Ticks)> _waiting = new();
    private readonly Queue<(IdKey Key, long Ticks)> _waitingOrder = new();
    private long _spansNotKept, _evaluationsNotKept, _evaluationsExpired, _evaluationsOtherEnvironment;

    public TimeSpan Window { get; } = window > TimeSpan.Zero ? window : throw new ArgumentOutOfRangeException(nameof(window));
    public int MaxEntries { get; } = maxEntries > 0 ? maxEntries : throw new ArgumentOutOfRangeException(nameof(maxEntries));

    /// <summary>Spans not remembered because <see cref="MaxEntries"/> were held.</summary>
    public long SpansNotKept => Interlocked.Read(ref _spansNotKept);
    /// <summary>Log evaluations that could not wait for their span because <see cref="MaxEntries"/> were waiting.</summary>
    public long EvaluationsNotKept => Interlocked.Read(ref _evaluationsNotKept);
    /// <summary>Log evaluations whose span did not come within the window (they stay exposures only).</summary>
    public long EvaluationsExpired => Interlocked.Read(ref _evaluationsExpired);
    /// <summary>Log evaluations whose span counts in another environment (they stay exposures only).</summary>
    public long EvaluationsOtherEnvironment => Interlocked.Read(ref _evaluationsOtherEnvironment);

    public (int Spans, int Waiting) Counts
    {
        get { lock (_gate) return (_spans.Count, _waiting.Count); }
    }

    /// <summary>What <see cref="Join"/> did with a batch of log evaluations.</summary>
    /// <param name="OtherEnvironment">Evaluations whose span counts in another environment: not joined.</param>
    public sealed record JoinResult(ExportTraceServiceRequest Joined, int JoinedCount, IReadOnlyList<IdKey> Waiting, int NotKept, int OtherEnvironment = 0);

    /// <summary>
    /// The evaluations whose span is known, as span events on copies of their request spans (one span per request and
    /// environment, under a resource naming that environment, so <see cref="TraceIntake.AcceptAsync"/> counts each where
    /// its record does); the others are left waiting for their span (<see cref="Forget"/> takes them back if the export
    /// is refused).
    /// </summary>
    public JoinResult Join(IReadOnlyList<LogEvaluation> evaluations)
    {
        var now = clock.GetUtcNow().UtcTicks;
        var requests = new Dictionary<string, Dictionary<Span, Span>>(StringComparer.Ordinal);
        var waiting = new List<IdKey>();
        int joined = 0, notKept = 0, otherEnvironment = 0;
        lock (_gate)
        {
            Sweep(now);
            foreach (var e in evaluations)
            {
                if (IdKey.Of(e.TraceId, e.SpanId) is not { } key) continue;
                if (_spans.TryGetValue(key, out var seen))
                {
                    if (!e.CountsWith(seen.Environment)) { otherEnvironment++; continue; }
                    if (!requests.TryGetValue(e.Environment, out var inEnvironment))
                        requests[e.Environment] = inEnvironment = new Dictionary<Span, Span>(ReferenceEqualityComparer.Instance);
                    if (!inEnvironment.TryGetValue(seen.Request, out var copy)) inEnvironment[seen.Request] = copy = seen.Request.Clone();
                    copy.Events.Add(EventOf(e.FlagKey, e.Variant));
                    joined++;
                }
                else if (_waiting.TryGetValue(key, out var w))
                {
                    w.Evaluations.Add(e);
                    waiting.Add(key);
                }
                // the order queue also keeps keys that were joined or forgotten until they age out: bound it too
                else if (_waiting.Count >= MaxEntries || _waitingOrder.Count >= 2 * MaxEntries)
                    notKept++;
                else
                {
                    _waiting[key] = ([e], now);
                    _waitingOrder.Enqueue((key, now));
                    waiting.Add(key);
                }
            }
        }
        if (notKept > 0) Interlocked.Add(ref _evaluationsNotKept, notKept);
        if (otherEnvironment > 0) Interlocked.Add(ref _evaluationsOtherEnvironment, otherEnvironment);
        var export = new ExportTraceServiceRequest();
        foreach (var (environment, inEnvironment) in requests)
        {
            var resource = new Resource
            {
                Attributes = { new KeyValue { Key = SpanAttribution.EnvironmentAttribute, Value = new AnyValue { StringValue = environment } } },
            };
            export.ResourceSpans.Add(new ResourceSpans { Resource = resource, ScopeSpans = { new ScopeSpans { Spans = { inEnvironment.Values } } } });
        }
        return new JoinResult(export, joined, waiting, notKept, otherEnvironment);
    }

    /// <summary>Takes back evaluations left waiting by a <see cref="Join"/> whose export was then refused (it will be retried).</summary>
    public void Forget(IReadOnlyList<IdKey> waiting)
    {
        lock (_gate)
            foreach (var key in waiting) _waiting.Remove(key);
    }

    /// <summary>
    /// Adds the log evaluations waiting for these spans to them as <c>feature_flag.evaluation</c> span events, those
    /// that count in the span's environment (the others stop waiting: their span has come, in another environment);
    /// returns the keys used, for <see cref="Accepted"/>. <paramref name="caller"/> sent the spans.
    /// </summary>
    public List<IdKey>? AttachWaiting(ExportTraceServiceRequest export, Actor? caller = null)
    {
        lock (_gate)
        {
            Sweep(clock.GetUtcNow().UtcTicks);
            if (_waiting.Count == 0) return null;
        }
        var pairs = SpanAttribution.RequestsOf(export);
        List<IdKey>? used = null;
        var otherEnvironment = 0;
        lock (_gate)
        {
            foreach (var (span, _, resourceEnvironment) in pairs)
            {
                if (IdKey.Of(span.TraceId, span.SpanId) is not { } key || !_waiting.TryGetValue(key, out var w)) continue;
                // rejected by /v1/traces: the records keep waiting, they may yet meet a span their environment may send
                if (!ObservationResolver.TryNamedEnvironment(resourceEnvironment, caller, out var environment)) continue;
                var attached = false;
                foreach (var e in w.Evaluations)
                {
                    if (!e.CountsWith(environment)) continue;
                    span.Events.Add(EventOf(e.FlagKey, e.Variant));
                    attached = true;
                }
                var others = w.Evaluations.RemoveAll(e => !e.CountsWith(environment));
                otherEnvironment += others;
                if (attached) (used ??= []).Add(key);
                else if (others > 0) _waiting.Remove(key);
            }
        }
        if (otherEnvironment > 0) Interlocked.Add(ref _evaluationsOtherEnvironment, otherEnvironment);
        return used;
    }

    /// <summary>
    /// After a trace export was accepted: its joined evaluations stop waiting, and its spans wait for logs, with the
    /// environment they count in — those <paramref name="caller"/> may report for only.
    /// </summary>
    public void Accepted(ExportTraceServiceRequest export, List<IdKey>? attached, Actor? caller = null)
    {
        var pairs = SpanAttribution.RequestsOf(export);
        if (pairs.Count == 0 && attached is null) return;
        var trimmed = new Dictionary<Span, Span>(ReferenceEqualityComparer.Instance);
        var now = clock.GetUtcNow().UtcTicks;
        var notKept = 0;
        lock (_gate)
        {
            if (attached is not null)
                foreach (var key in attached) _waiting.Remove(key);
            foreach (var (span, request, resourceEnvironment) in pairs)
            {
                if (IdKey.Of(span.TraceId, span.SpanId) is not { } key || _spans.ContainsKey(key)) continue;
                if (!ObservationResolver.TryNamedEnvironment(resourceEnvironment, caller, out var environment)) continue;
                if (_spans.Count >= MaxEntries) { notKept++; continue; }
                if (!trimmed.TryGetValue(request, out var copy)) trimmed[request] = copy = Trim(request);
                _spans[key] = (copy, environment, now);
                _spanOrder.Enqueue((key, now));
            }
        }
        if (notKept > 0) Interlocked.Add(ref _spansNotKept, notKept);
    }

    /// <summary>What the attribution reads of a request span, so a remembered span does not keep its whole export alive.</summary>
    private static Span Trim(Span request)
    {
        var copy = new Span
        {
            TraceId = request.TraceId, SpanId = request.SpanId, Kind = request.Kind,
            StartTimeUnixNano = request.StartTimeUnixNano, EndTimeUnixNano = request.EndTimeUnixNano, Status = request.Status?.Clone(),
        };
        foreach (var kv in request.Attributes)
            if (kv.Key is SpanAttribution.HttpStatusAttribute or SpanAttribution.LegacyHttpStatusAttribute) copy.Attributes.Add(kv.Clone());
        return copy;
    }

    private static Span.Types.Event EventOf(string flag, string variant) => new()
    {
        Name = SpanAttribution.EvaluationEvent,
        Attributes =
        {
            new KeyValue { Key = SpanAttribution.KeyAttribute, Value = new AnyValue { StringValue = flag } },
            new KeyValue { Key = SpanAttribution.VariantAttribute, Value = new AnyValue { StringValue = variant } },
        },
    };

    /// <summary>Drops what has waited longer than the window (entries re-added since keep their first time).</summary>
    private void Sweep(long now)
    {
        var oldest = now - Window.Ticks;
        while (_spanOrder.TryPeek(out var s) && s.Ticks <= oldest)
        {
            _spanOrder.Dequeue();
            if (_spans.TryGetValue(s.Key, out var v) && v.Ticks == s.Ticks) _spans.Remove(s.Key);
        }
        while (_waitingOrder.TryPeek(out var w) && w.Ticks <= oldest)
        {
            _waitingOrder.Dequeue();
            if (_waiting.TryGetValue(w.Key, out var v) && v.Ticks == w.Ticks)
            {
                _waiting.Remove(w.Key);
                Interlocked.Add(ref _evaluationsExpired, v.Evaluations.Count);
            }
        }
    }

    /// <summary>A (trace id, span id) pair as three integers.</summary>
    public readonly record struct IdKey(ulong TraceHigh, ulong TraceLow, ulong SpanId)
    {
        public static IdKey? Of(ByteString traceId, ByteString spanId)
        {
            if (traceId.Length != 16 || spanId.Length != 8) return null;
            var t = traceId.Span;
            return new IdKey(BinaryPrimitives.ReadUInt64BigEndian(t), BinaryPrimitives.ReadUInt64BigEndian(t[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(spanId.Span));
        }
    }
}
