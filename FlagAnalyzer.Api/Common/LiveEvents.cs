namespace FlagAnalyzer.Api.Common;

/// <summary>The live event names (Live/CONTRACT.md); the same payloads travel on SignalR and <c>/ws</c>.</summary>
public static class LiveEventTypes
{
    public const string FlagCreated = "flag.created";
    public const string FlagUpdated = "flag.updated";
    public const string FlagDeleted = "flag.deleted";
    public const string FlagChanged = "flag.changed";
    public const string MetricsRecorded = "metrics.recorded";
    public const string PredictionCreated = "prediction.created";
    public const string PredictionUpdated = "prediction.updated";
    public const string AnomalyDetected = "anomaly.detected";
    public const string AnomalyResolved = "anomaly.resolved";
    public const string ChatToken = "chat.token";
    public const string ChatMessage = "chat.message";
    /// <summary>A rollout plan was saved or changed state (payload: the plan with the guardian's current evaluation).</summary>
    public const string RolloutUpdated = "rollout.updated";
    /// <summary>A scheduled flag change fired (payload: the schedule with its outcome).</summary>
    public const string ScheduleFired = "schedule.fired";
}

/// <summary>One event: its type, its payload (the resource itself), and the flag it concerns when there is one.</summary>
public sealed record LiveEvent(string Type, object Payload, string? FlagId = null, string? SessionId = null)
{
    /// <summary>
    /// The environment the flag is stored in (a chat event: its session's, null for an unscoped session), when the publisher
    /// knows it (a deleted flag's events must say it); else
    /// the live dispatcher looks the flag up. Connections of keys scoped to an environment get only that environment's
    /// events (<see cref="FlagScope"/>).
    /// </summary>
    public string? Environment { get; init; }
}

/// <summary>The one way code publishes live events. Publishing never throws to the caller.</summary>
public interface ILiveEventPublisher
{
    ValueTask PublishAsync(LiveEvent e, CancellationToken ct = default);
}

/// <summary>A transport that delivers events (SignalR, the raw <c>/ws</c> bridge, tests).</summary>
public interface ILiveEventSink
{
    ValueTask DeliverAsync(LiveEvent e, CancellationToken ct);
}

/// <summary>Fans each event out to every registered sink; a failing sink is logged and skipped.</summary>
public sealed class LiveEventPublisher(IEnumerable<ILiveEventSink> sinks, ILogger<LiveEventPublisher> logger) : ILiveEventPublisher
{
    private readonly ILiveEventSink[] _sinks = sinks.ToArray();

    public async ValueTask PublishAsync(LiveEvent e, CancellationToken ct = default)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.DeliverAsync(e, ct);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Live event {Type} was not delivered by {Sink}", e.Type, sink.GetType().Name);
            }
        }
    }
}
