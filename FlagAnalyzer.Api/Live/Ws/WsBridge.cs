using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Live.Ws;

/// <summary>
/// Delivers live events to the <c>/ws</c> sockets. Alone, it hands each event to this process's sockets; with
/// Redis it publishes each event once on a channel every replica subscribes to, so a <c>/ws</c> client sees
/// events caused anywhere, as a SignalR client does through the backplane.
/// </summary>
public sealed class WsBridge(LiveOptions options, IOptions<WsOptions> limits, IServiceProvider services, ILogger<WsBridge> logger) : IAsyncDisposable
{
    private static readonly RedisChannel Channel = RedisChannel.Literal(LiveOptions.ChannelPrefix + ":ws");
    private readonly ConcurrentDictionary<WsConnection, byte> _connections = new();
    private readonly Dictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private IConnectionMultiplexer? _redis;

    internal enum Admission { Admitted, TooManyFromAddress, TooMany }

    /// <summary>Registers a socket unless this replica or its address is at its cap (<see cref="WsOptions"/>).</summary>
    internal Admission TryAdd(WsConnection c)
    {
        var o = limits.Value;
        lock (_perAddress)
        {
            if (_connections.Count >= o.MaxConnections) return Admission.TooMany;
            var key = c.Address ?? "";
            var held = _perAddress.GetValueOrDefault(key);
            if (held >= o.MaxConnectionsPerAddress) return Admission.TooManyFromAddress;
            _perAddress[key] = held + 1;
            _connections.TryAdd(c, 0);
            return Admission.Admitted;
        }
    }

    internal void Remove(WsConnection c)
    {
        lock (_perAddress)
        {
            if (!_connections.TryRemove(c, out _)) return;
            var key = c.Address ?? "";
            if (_perAddress.GetValueOrDefault(key) <= 1) _perAddress.Remove(key);
            else _perAddress[key]--;
        }
    }

    /// <summary>Open sockets and the bytes queued for them (for tests and diagnostics).</summary>
    internal (int Connections, long QueuedBytes) Usage() => (_connections.Count, _connections.Keys.Sum(c => c.QueuedBytes));

    /// <summary>
    /// Takes the process's shared Redis connection (Storage/RedisConnection) when configured and subscribes before
    /// the server takes clients. Never throws: when
    /// Redis is down at start (after its connect timeout) the subscription keeps retrying in the background.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (options.RedisConnectionString is null) return;
        try
        {
            // created on first use (connects once, up to its connect timeout when Redis is down), off this thread
            _redis = await Task.Run(services.GetRequiredService<IConnectionMultiplexer>, ct);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "/ws clients will see only this replica's events: the Redis connection string is not usable");
            return;
        }
        var subscribed = SubscribeAsync(_redis);
        if (_redis.IsConnected) await subscribed;
        else logger.LogWarning("Redis is not reachable; /ws clients get live events once it is");
    }

    private async Task SubscribeAsync(IConnectionMultiplexer redis)
    {
        for (var attempt = 1; !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(Channel);
                // a ChannelMessageQueue hands messages over one at a time, in order
                queue.OnMessage(m => Receive((byte[])m.Message!));
                if (attempt > 1) logger.LogInformation("/ws live events subscribed on Redis");
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                if (attempt == 1) logger.LogWarning(ex, "Subscribing /ws live events on Redis failed; retrying");
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 10)), _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <param name="environment">The environment of the event's flag: sockets of keys scoped to another one do not get it (FlagScope).</param>
    public void Publish(LiveEvent e, LiveEnvelope envelope, string? environment = null)
    {
        if (_redis is { } redis)
        {
            try
            {
                // one header line per routing field, then the envelope as the sockets receive it
                var header = Encoding.UTF8.GetBytes($"{e.Type}\n{e.SessionId}\n{environment}\n");
                var body = JsonSerializer.SerializeToUtf8Bytes(envelope, Json.Options);
                var message = new byte[header.Length + body.Length];
                header.CopyTo(message, 0);
                body.CopyTo(message, header.Length);
                redis.GetSubscriber().Publish(Channel, message, CommandFlags.FireAndForget);
                return;
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "Live event {Type} not published to Redis for /ws; delivering locally", e.Type);
            }
        }
        Deliver(e.Type, e.SessionId, environment, null, envelope);
    }

    private void Receive(byte[] message)
    {
        var span = message.AsSpan();
        var fields = new string?[3];
        for (var i = 0; i < 3; i++)
        {
            var nl = span.IndexOf((byte)'\n');
            if (nl < 0) return;
            fields[i] = nl == 0 ? null : Encoding.UTF8.GetString(span[..nl]);
            span = span[(nl + 1)..];
        }
        if (fields[0] is not { } type) return;
        Deliver(type, fields[1], fields[2], span.ToArray(), null);
    }

    private void Deliver(string type, string? sessionId, string? environment, byte[]? bytes, LiveEnvelope? envelope)
    {
        foreach (var c in _connections.Keys)
        {
            if (!c.Wants(type, sessionId, environment)) continue;
            bytes ??= JsonSerializer.SerializeToUtf8Bytes(envelope, Json.Options);
            c.Enqueue(bytes);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        // the Redis connection is the process's: the container disposes it, and the subscription with it
        _stopping.Dispose();
    }
}
