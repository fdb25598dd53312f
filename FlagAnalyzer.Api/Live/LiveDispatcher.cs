using System.Text.Json;
using System.Threading.Channels;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live.Ws;
using Microsoft.AspNetCore.SignalR;

namespace FlagAnalyzer.Api.Live;

/// <summary>
/// The sink behind <see cref="ILiveEventPublisher"/>: queues each event and returns at once, so a slow client
/// or a Redis that is down never holds up the HTTP request that caused the event. One pump delivers the
/// queue in order to the SignalR groups (through the Redis backplane when there is one) and the /ws sockets.
/// </summary>
public sealed class LiveDispatcher : BackgroundService, ILiveEventSink
{
    public const int QueueCapacity = 10_000;
    /// <summary>How long one event may wait on SignalR (a full client pipe, a Redis timeout) before the pump moves on.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<LiveEvent> _queue;
    private readonly IHubContext<LiveHub, ILiveClient> _hub;
    private readonly WsBridge _ws;
    private readonly LiveOptions _options;
    private readonly IFlagIds _flags;
    private readonly ILogger<LiveDispatcher> _logger;
    private long _dropped;
    private bool _failing;

    public LiveDispatcher(IHubContext<LiveHub, ILiveClient> hub, WsBridge ws, LiveOptions options, ILogger<LiveDispatcher> logger, IFlagIds flags)
    {
        _flags = flags;
        _hub = hub;
        _ws = ws;
        _options = options;
        _logger = logger;
        _queue = Channel.CreateBounded<LiveEvent>(
            new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
    }

    public ValueTask DeliverAsync(LiveEvent e, CancellationToken ct)
    {
        _queue.Writer.TryWrite(e);
        return ValueTask.CompletedTask;
    }

    private void OnDropped(LiveEvent e)
    {
        var n = Interlocked.Increment(ref _dropped);
        if (n == 1 || n % 1000 == 0)
            _logger.LogWarning("Live event queue full ({Capacity}): dropped {Count} oldest events so far (latest {Type})", QueueCapacity, n, e.Type);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.RedisConnectionString is null)
            _logger.LogInformation("Live events: single node (no ConnectionStrings:cache); clients see only events caused by this process");
        else
            _logger.LogInformation("Live events: Redis backplane on; clients see events caused by every API replica");
        // subscribed before the server takes its first /ws client (waits at most Redis's connect timeout when it is down)
        await _ws.StartAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>The environment of the event's flag (FlagScope); null when unknown, and then no scoped connection gets it.</summary>
    private async Task<string?> EnvironmentOfAsync(LiveEvent e, CancellationToken ct)
    {
        if (e.Environment is not null || e.FlagId is null || LiveTopics.IsChat(e.Type)) return e.Environment;
        try
        {
            return (await _flags.FindAsync(e.FlagId, ct))?.Environment;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogDebug(ex, "Live event {Type}: the environment of flag {FlagId} could not be read; scoped connections do not get it", e.Type, e.FlagId);
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var e in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            LiveEnvelope envelope;
            try
            {
                // serialized once, here: both transports copy the element as is, and a payload that cannot be
                // serialized is dropped with a log instead of aborting every SignalR connection it was sent to
                envelope = new LiveEnvelope(e.Type, JsonSerializer.SerializeToElement(e.Payload, Json.Options));
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
            {
                _logger.LogError(ex, "Live event {Type} has a payload that cannot be serialized; dropped", e.Type);
                continue;
            }
            var environment = await EnvironmentOfAsync(e, stoppingToken);
            _ws.Publish(e, envelope, environment);
            var groups = LiveTopics.GroupsOf(e, environment);
            if (groups.Count == 0) continue;
            try
            {
                await _hub.Clients.Groups(groups).Event(envelope).WaitAsync(SendTimeout, stoppingToken);
                if (_failing)
                {
                    _failing = false;
                    _logger.LogInformation("Live events reach SignalR clients again");
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // log the first failure of a run, not one line per event while Redis is down
                if (!_failing) _logger.LogWarning(ex, "Live event {Type} was not sent to SignalR clients; further failures are not logged until it recovers", e.Type);
                _failing = true;
            }
        }
    }
}
