using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Statistics;

namespace FlagAnalyzer.Tests.Api.Anomalies;

/// <summary>What detection publishes, seen by an extra live transport (a recording sink next to SignalR and /ws).</summary>
public sealed class AnalysisLiveEventsTests : IDisposable
{
    private readonly LiveRecorder _sink = new();
    private readonly ApiFactory _app;
    private readonly AnalysisClient _api;

    public AnalysisLiveEventsTests()
    {
        _app = new ApiFactory { ConfigureServices = s => s.AddSingleton<ILiveEventSink>(_sink) };
        _api = new AnalysisClient(_app.CreateClient());
    }

    public void Dispose() => _app.Dispose();

    private List<LiveEvent> EventsFor(string flagId, params string[] types) =>
        _sink.Events.Where(e => e.FlagId == flagId && types.Contains(e.Type)).ToList();

    [Fact]
    public async Task SpikeThenRecovery_PublishesAnomalyDetectedThenAnomalyResolved()
    {
        var id = await _api.CreateFlagAsync("live-spike");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 10);

        await _api.SendAsync(id, 3, errorRate: 2.5);
        await _api.SendAsync(id, 3, errorRate: 1.0);

        var events = EventsFor(id, LiveEventTypes.AnomalyDetected, LiveEventTypes.AnomalyResolved);
        Assert.Equal([LiveEventTypes.AnomalyDetected, LiveEventTypes.AnomalyResolved], events.Select(e => e.Type));
        var detected = Assert.IsType<Anomaly>(events[0].Payload);
        var resolved = Assert.IsType<Anomaly>(events[1].Payload);
        Assert.Equal(detected.Id, resolved.Id);
        Assert.Equal(AnomalyStatus.Resolved, resolved.Status);
    }

    [Fact]
    public async Task GuardianRollback_IsPublishedAsAFlagChangeAfterTheAnomaly()
    {
        var id = await _api.CreateFlagAsync("live-guardian", autoRollback: true);
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 30);

        await _api.SendAsync(id, 3, errorRate: 4);

        var events = EventsFor(id, LiveEventTypes.AnomalyDetected, LiveEventTypes.FlagUpdated, LiveEventTypes.FlagChanged)
            .SkipWhile(e => e.Type != LiveEventTypes.AnomalyDetected).ToList();
        Assert.Equal([LiveEventTypes.AnomalyDetected, LiveEventTypes.FlagUpdated, LiveEventTypes.FlagChanged], events.Select(e => e.Type));
        var flag = Assert.IsType<Flag>(events[1].Payload);
        Assert.False(flag.Enabled);
        Assert.Equal(0, flag.RolloutPercentage);
        var change = Assert.IsType<FlagChange>(events[2].Payload);
        Assert.Equal(ChangeType.RolledBack, change.ChangeType);
        Assert.Equal("guardian", change.ChangedBy);
    }

    [Fact]
    public async Task DeepeningRegression_RepublishesTheSameAnomalyWithItsHigherSeverity()
    {
        var id = await _api.CreateFlagAsync("live-escalation");
        await _api.SendBaselineAsync(id);
        await _api.RollOutAsync(id, 10);

        await _api.SendAsync(id, 4, errorRate: 1.8);
        var first = Assert.IsType<Anomaly>(Assert.Single(EventsFor(id, LiveEventTypes.AnomalyDetected)).Payload);
        await _api.SendAsync(id, 12, errorRate: 9);

        var detected = EventsFor(id, LiveEventTypes.AnomalyDetected).Select(e => Assert.IsType<Anomaly>(e.Payload)).ToList();
        Assert.True(detected.Count >= 2, $"expected the escalation to be published, got {detected.Count} anomaly.detected event(s)");
        Assert.All(detected, a => Assert.Equal(first.Id, a.Id));
        Assert.Equal(Severity.Medium, first.Severity);
        Assert.Equal(Severity.Critical, detected[^1].Severity);
        Assert.Single(await _api.AnomaliesAsync(id));
    }
}
