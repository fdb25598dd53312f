using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// The change feed across two real API processes on one PostgreSQL database (no Redis: the feed alone must order and
/// carry every change): concurrent writers on both get revisions that increase in commit order, and a client following
/// <c>afterRevision</c> on one of them while they write sees every change exactly once.
/// </summary>
[Collection(nameof(MultiReplicaCollection))]
public sealed class ChangeFeedReplicaTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Flags = 8;
    private const int Operations = 240;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private readonly List<ApiReplica> _replicas = [];

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.Shared()).CreateDatabaseAsync("feed");
        _replicas.AddRange(await Task.WhenAll(Enumerable.Range(0, 2).Select(i => ApiReplica.StartAsync($"feed-{i}", database, ""))));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _replicas) await r.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentWritersOnTwoReplicas_GetRevisionsInCommitOrder_AndAFollowerSeesEveryChangeOnce()
    {
        var clients = _replicas.Select(r => r.Client()).ToArray();
        var run = Guid.NewGuid().ToString("N")[..8];
        var flags = new string[Flags];
        for (var j = 0; j < Flags; j++)
            flags[j] = (await (await clients[j % 2].PostJson("/api/flags", new { name = $"feed-{run}-{j}" })).ReadJson()).GetProperty("id").GetString()!;

        // a follower on replica 0, polling the feed while both replicas write
        var seen = new List<FlagChange>();
        var writing = new CancellationTokenSource();
        long position = 0;
        async Task FollowOnce()
        {
            while (true)
            {
                var page = await (await clients[0].GetAsync($"/api/flags/changes?afterRevision={position}&limit=50")).ReadAs<Page<FlagChange>>();
                seen.AddRange(page.Items);
                if (page.Items.Count > 0) position = page.Items[^1].Revision;
                if (page.NextCursor is null) return;
            }
        }
        var follower = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested) await FollowOnce();
            await FollowOnce(); // everything committed before the writers stopped
        });

        // each rollout value belongs to one operation, so the feed says which write each change is
        var versionOfValue = new ConcurrentDictionary<(string Flag, double Rollout), long>();
        var gate = new SemaphoreSlim(16);
        await Task.WhenAll(Enumerable.Range(0, Operations).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var flag = flags[i % Flags];
                var rollout = Math.Round(0.4 * i + 0.1, 1); // never 0 (a new flag's), so every write changes its flag
                var response = await clients[i % 2].PatchAsJsonAsync($"/api/flags/{flag}", new { rolloutPercentage = rollout }, ApiFactory.JsonOptions);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                versionOfValue[(flag, rollout)] = (await response.ReadJson()).GetProperty("version").GetInt64();
            }
            finally
            {
                gate.Release();
            }
        })).WaitAsync(RunTimeout);
        await writing.CancelAsync();
        await follower.WaitAsync(RunTimeout);

        var all = (await Follow(clients[1])).ToList();
        output.WriteLine($"{all.Count} changes in the feed; the follower saw {seen.Count} while {Operations} writes ran on two replicas");
        // exactly once, in increasing revision order, nothing missing, no gap
        Assert.Equal(all.Select(c => c.Id), seen.Select(c => c.Id));
        Assert.Equal(Enumerable.Range(1, all.Count).Select(r => (long)r), all.Select(c => c.Revision));
        Assert.Equal(Flags + Operations, all.Count);

        // commit order: on each flag the writes are serialised, so a later version must have a later revision
        foreach (var flag in flags)
        {
            var versions = all.Where(c => c.FlagId == flag && c.ChangeType != ChangeType.Created)
                .Select(c => versionOfValue[(flag, c.NewValue!.Value.GetProperty("rolloutPercentage").GetDouble())]).ToList();
            Assert.Equal(versions.Order(), versions);
        }
    }

    private static async Task<List<FlagChange>> Follow(HttpClient client)
    {
        var all = new List<FlagChange>();
        long position = 0;
        while (true)
        {
            var page = await (await client.GetAsync($"/api/flags/changes?afterRevision={position}&limit=500")).ReadAs<Page<FlagChange>>();
            all.AddRange(page.Items);
            if (page.Items.Count > 0) position = page.Items[^1].Revision;
            if (page.NextCursor is null) return all;
        }
    }
}
