using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.Api.Evaluation;

/// <summary>
/// Two replicas on one database and one Redis: a change made on one is served by the other. How fast (the 1 s target) is
/// measured by the benchmarks on a quiet machine (benchmarks/README.md, change on one replica → evaluated on another);
/// here it only has to arrive, within <see cref="Wait.Arrival"/>.
/// </summary>
public sealed class SnapshotReplicaTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ApiFactory _a = null!;
    private ApiFactory _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _a = new ApiFactory();
        _a.Settings["ConnectionStrings:cache"] = _redis.ConnectionString;
        _b = new ApiFactory(_a.DatabasePath);
        _b.Settings["ConnectionStrings:cache"] = _redis.ConnectionString;
        // no safety-net reload within the wait: only the Redis announcement can explain a change arriving
        _b.Settings["Evaluation:FeedPollMilliseconds"] = "3600000";
    }

    public async Task DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        await _redis.DisposeAsync();
    }

    /// <summary>Completes when the replica's snapshot satisfies <paramref name="condition"/>.</summary>
    private static Task WhenSnapshot(ApiFactory app, Func<FlagSnapshot, bool> condition)
    {
        var store = app.Services.GetRequiredService<FlagSnapshotStore>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Swapped += s => { if (condition(s)) done.TrySetResult(); };
        if (condition(store.Current)) done.TrySetResult();
        return done.Task;
    }

    [Fact]
    public async Task ChangeOnOneReplica_IsServedByTheOther()
    {
        var a = _a.CreateClient();
        var b = _b.CreateClient();
        var created = await (await a.PostAsJsonAsync("/api/flags", new { name = "shared", enabled = true, rolloutPercentage = 100 })).ReadJson();
        await WhenSnapshot(_b, s => s.TryGet("shared", out _)).WaitAsync(TimeSpan.FromSeconds(5)); // B started with or learnt of it

        var seen = WhenSnapshot(_b, s => s.TryGet("shared", out var f) && !f.Enabled);
        await a.PatchAsJsonAsync($"/api/flags/{created.GetProperty("id").GetString()}", new { enabled = false });
        await seen.WaitAsync(Wait.Arrival);

        var served = await (await b.PostAsJsonAsync("/ofrep/v1/evaluate/flags/shared", new { context = new { } })).ReadJson();
        Assert.Equal("DISABLED", served.GetProperty("reason").GetString());
        Assert.Equal(_a.Services.GetRequiredService<IFlagSnapshot>().Current.Version, _b.Services.GetRequiredService<IFlagSnapshot>().Current.Version);
    }

    /// <summary>Completes when the replica's Redis connection is back.</summary>
    private static Task WhenReconnected(ApiFactory app)
    {
        var redis = app.Services.GetRequiredService<IConnectionMultiplexer>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        redis.ConnectionRestored += (_, e) => { if (e.ConnectionType == ConnectionType.Subscription) done.TrySetResult(); };
        return done.Task;
    }

    [Fact]
    public async Task RedisAwayAtStartUp_ReplicasSubscribeWhenItReturns()
    {
        await _redis.KillAsync();
        var a = _a.CreateClient();
        var b = _b.CreateClient();
        var created = await (await a.PostAsJsonAsync("/api/flags", new { name = "late", enabled = true, rolloutPercentage = 100 })).ReadJson();
        var aBack = WhenReconnected(_a);
        var bBack = WhenReconnected(_b);

        await _redis.StartAgainAsync();
        await Task.WhenAll(aBack, bBack).WaitAsync(TimeSpan.FromSeconds(30));
        await WhenSnapshot(_b, s => s.TryGet("late", out _)).WaitAsync(TimeSpan.FromSeconds(5)); // the reload on reconnect

        var seen = WhenSnapshot(_b, s => s.TryGet("late", out var f) && !f.Enabled);
        await a.PatchAsJsonAsync($"/api/flags/{created.GetProperty("id").GetString()}", new { enabled = false });
        await seen.WaitAsync(Wait.Arrival);
    }
}
