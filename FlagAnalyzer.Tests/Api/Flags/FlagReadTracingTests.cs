using FlagAnalyzer.Tests.Support;
using System.Collections.Concurrent;
using System.Diagnostics;
using FlagAnalyzer.Api.Flags;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>A flag read is one trace: the request, the cache lookup and, on a miss, the SQLite read under it.</summary>
public sealed class FlagReadTracingTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentBag<Activity> _spans = [];
    private readonly ActivityListener _listener;
    private RedisServer _redis = null!;

    public FlagReadTracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "FlagAnalyzer.Flags" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task FlagRead_CacheMissThenSqlite_IsOneTrace()
    {
        await using var app = new ApiFactory { Settings = { ["ConnectionStrings:cache"] = _redis.ConnectionString } };
        var api = app.CreateClient();
        var flag = await (await api.PostJson("/api/flags", new { name = $"traced-{Guid.NewGuid():N}"[..24] })).ReadAs<Flag>();
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString).WaitAsync(Timeout))
            await redis.GetDatabase().KeyDeleteAsync(RedisFlagCache.FlagKeyPrefix + flag.Id).WaitAsync(Timeout);
        // the replica that wrote the flag also holds it locally; a second replica has only Redis and SQLite
        await using var other = new ApiFactory(app.DatabasePath) { Settings = { ["ConnectionStrings:cache"] = _redis.ConnectionString } };

        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/flags/{flag.Id}");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(flag.Id, (await (await other.CreateClient().SendAsync(request).WaitAsync(Timeout)).ReadAs<Flag>()).Id);

        var trace = _spans.Where(s => s.TraceId == traceId).ToList();
        var server = Assert.Single(trace, s => s.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn");
        var lookup = Assert.Single(trace, s => s.OperationName == "flag-cache get");
        var sqlite = Assert.Single(trace, s => s.OperationName == "flag read sqlite");
        Assert.Equal("miss", lookup.GetTagItem(FlagCacheTelemetry.ResultTag));
        Assert.Equal(server.SpanId, lookup.ParentSpanId);
        Assert.Equal(server.SpanId, sqlite.ParentSpanId);
    }
}
