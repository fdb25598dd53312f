using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// A real redis-server, a connection that inspects it, and <see cref="RedisFlagCache"/>s in this process standing for
/// replicas, each on its own connection and fake clock; disposed together. For tests that replay an interleaving of
/// replicas step by step (<see cref="RedisReplicas"/> runs whole API replicas instead).
/// </summary>
public sealed class RedisCaches : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = RedisReplicas.Timeout;
    private readonly List<(RedisFlagCache Cache, ConnectionMultiplexer Connection)> _caches = [];
    private ConnectionMultiplexer _inspector = null!;

    private RedisCaches(RedisServer redis, FlagCacheOptions options) => (Redis, Options) = (redis, options);

    public RedisServer Redis { get; }
    public FlagCacheOptions Options { get; }

    public static async Task<RedisCaches> StartAsync(FlagCacheOptions? options = null)
    {
        var r = new RedisCaches(await RedisServer.StartAsync(), options ?? new FlagCacheOptions());
        r._inspector = await r.ConnectAsync();
        return r;
    }

    /// <summary>Redis itself, to look at what it holds.</summary>
    public IDatabase Inspect => _inspector.GetDatabase();

    /// <summary>The inspecting connection's pub/sub, to watch or make announcements.</summary>
    public ISubscriber Subscriber => _inspector.GetSubscriber();

    /// <summary>A started cache on a new connection, with its own clock.</summary>
    public async Task<(RedisFlagCache Cache, FakeTimeProvider Clock)> AddAsync()
    {
        var connection = await ConnectAsync();
        var clock = new FakeTimeProvider();
        var cache = new RedisFlagCache(connection, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<RedisFlagCache>.Instance, clock);
        _caches.Add((cache, connection));
        await cache.StartAsync().WaitAsync(Timeout);
        return (cache, clock);
    }

    /// <summary>Lets the caches run scripts, or refuses them (a write through a script then fails as Redis failing would).</summary>
    public Task AllowScripts(bool allowed) =>
        Inspect.ExecuteAsync("ACL", "SETUSER", "default", allowed ? "+eval" : "-eval", allowed ? "+evalsha" : "-evalsha").WaitAsync(Timeout);

    public static Flag NewFlag(string prefix) => new()
    {
        Id = $"flg_{Guid.NewGuid():N}",
        Name = RedisReplicas.Name(prefix),
        Version = 1,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    private Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync($"{Redis.ConnectionString},abortConnect=false").WaitAsync(Timeout);

    public async ValueTask DisposeAsync()
    {
        foreach (var (cache, connection) in _caches)
        {
            await cache.StopAsync().WaitAsync(Timeout);
            cache.Dispose();
            await connection.DisposeAsync();
        }
        await _inspector.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
