using System.Net;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Api.Metrics;

/// <summary>Concurrent single-sample posts share transactions; each answer still means exactly what was stored.</summary>
public sealed class GroupCommitApiTests : IDisposable
{
    private readonly ApiFactory _app = new();
    private readonly HttpClient _client;

    public GroupCommitApiTests() => _client = _app.CreateClient();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task ConcurrentSinglePosts_EveryOkIsStored_AndAnUnknownFlagFailsOnlyItsOwnRequest()
    {
        var flag = await (await _client.PostJson("/api/flags", new { name = "grouped" })).ReadAs<Flag>();
        var service = _app.Services.GetRequiredService<MetricsService>();
        var (groupsBefore, requestsBefore) = service.GroupStats;
        var queuedBefore = service.QueuedRequests;

        // the gate: the store's write lock, held from outside (BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL),
        // so the first group's transaction waits until all 120 requests are queued behind it — concurrency by
        // construction, not by luck
        List<Task<HttpResponseMessage>> posts;
        await using (await new Db(_app.Services.GetRequiredService<Db>().ConnectionString).BeginWriteAsync())
        {
            posts = Enumerable.Range(0, 120).Select(i => _client.PostJson("/api/metrics", new
            {
                flagId = i % 6 == 5 ? "no-such-flag" : i % 2 == 0 ? flag.Id : flag.Name,
                errorRate = 0.5, latencyP50 = 40 + i, latencyP99 = 400, requestCount = 1000,
            })).ToList();
            Assert.True(await Wait.Until(() => Task.FromResult(service.QueuedRequests - queuedBefore == 120), Wait.Arrival),
                $"only {service.QueuedRequests - queuedBefore} of 120 requests reached the queue while the write lock was held");
        }
        var responses = await Task.WhenAll(posts).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(100, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(20, responses.Count(r => r.StatusCode == HttpStatusCode.NotFound));
        Assert.Equal(100, await StoredSamples(flag.Id));
        var (groups, requests) = service.GroupStats;
        Assert.Equal(120, requests - requestsBefore);
        // the group that met the lock (whatever was queued then), and everything queued behind it together
        Assert.InRange(groups - groupsBefore, 1, 2);
    }

    private Task<long> StoredSamples(string flagId) =>
        TestDatabase.ScalarAsync(_app.DatabasePath, "SELECT COUNT(*) FROM impact_metrics WHERE flag_id = @id", ("id", flagId));
}
