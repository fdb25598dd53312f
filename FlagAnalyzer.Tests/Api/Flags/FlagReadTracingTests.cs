using FlagAnalyzer.Tests.Support;
using System.Collections.Concurrent;
using System.Diagnostics;
using FlagAnalyzer.Api.Flags;

namespace FlagAnalyzer.Tests.Api.Flags;

/// <summary>A flag read is one trace: the request, the snapshot lookup and, on a miss, the database read under it.</summary>
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
        // a flag id the snapshot does not hold (never created) is a miss, read from the database
        var unknown = flag.Id[..^1] + (flag.Id[^1] == 'x' ? 'y' : 'x');
        await using var other = new ApiFactory(app.DatabasePath) { Settings = { ["ConnectionStrings:cache"] = _redis.ConnectionString } };

        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/flags/{unknown}");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await other.CreateClient().SendAsync(request).WaitAsync(Timeout)).StatusCode);

        var trace = _spans.Where(s => s.TraceId == traceId).ToList();
        var server = Assert.Single(trace, s => s.OperationName == "Microsoft.AspNetCore.Hosting.HttpRequestIn");
        var lookup = Assert.Single(trace, s => s.OperationName == "flag-cache get");
        var sqlite = Assert.Single(trace, s => s.OperationName == "flag read sqlite");
        Assert.Equal("miss", lookup.GetTagItem(FlagCacheTelemetry.ResultTag));
        Assert.Equal(server.SpanId, lookup.ParentSpanId);
        Assert.Equal(server.SpanId, sqlite.ParentSpanId);
    }
}
