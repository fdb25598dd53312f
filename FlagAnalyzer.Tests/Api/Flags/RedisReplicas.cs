using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Support;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>
/// A real redis-server, a connection that inspects what it holds, and API replicas pointed at it; disposed together.
/// </summary>
public sealed class RedisReplicas : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly List<ApiFactory> _apps = [];
    private ConnectionMultiplexer _inspector = null!;

    private RedisReplicas(RedisServer redis) => Redis = redis;

    public RedisServer Redis { get; }

    public static async Task<RedisReplicas> StartAsync()
    {
        var r = new RedisReplicas(await RedisServer.StartAsync());
        r._inspector = await ConnectionMultiplexer.ConnectAsync($"{r.Redis.ConnectionString},abortConnect=false").WaitAsync(Timeout);
        return r;
    }

    /// <summary>A replica (on a new SQLite file, or on <paramref name="databasePath"/> to share another's).</summary>
    public ApiFactory Replica(string? databasePath = null)
    {
        var app = new ApiFactory(databasePath);
        app.Settings["ConnectionStrings:cache"] = Redis.ConnectionString;
        _apps.Add(app);
        return app;
    }

    /// <summary>Redis itself, to look at or change what it holds behind the API's back.</summary>
    public IDatabase Inspect => _inspector.GetDatabase();

    /// <summary>The <c>cache</c> check's status in <c>/health</c>.</summary>
    public static async Task<string?> CacheStatus(HttpClient api) =>
        (await (await api.GetAsync("/health").WaitAsync(Timeout)).ReadJson()).GetProperty("checks").GetProperty("cache").GetProperty("status").GetString();

    public static StringContent Body(object o) =>
        new(JsonSerializer.Serialize(o, ApiFactory.JsonOptions), System.Text.Encoding.UTF8, "application/json");

    public static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps) await app.DisposeAsync();
        await _inspector.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
