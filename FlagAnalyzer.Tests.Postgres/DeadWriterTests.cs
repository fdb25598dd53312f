using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Live;
using FlagAnalyzer.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// A writer that dies after its commit and before it could announce it: three API processes on one PostgreSQL database
/// and one redis-server, the writer's Redis link through a loopback proxy the test severs, so its writes are committed and
/// acknowledged but never announced on Redis, and then the writer is killed (SIGKILL). The others must serve the writes
/// anyway, long before their feed poll (set to an hour here, so it cannot explain anything): PostgreSQL's commit
/// notification wakes them, and they read the change feed after the revision they hold.
/// </summary>
[Collection(nameof(MultiReplicaCollection))]
public sealed class DeadWriterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly Dictionary<string, string> NoSafetyNet = new() { ["Evaluation__FeedPollMilliseconds"] = "3600000" };

    private RedisServer _redis = null!;
    private TcpProxy _writerLink = null!;
    private ConnectionMultiplexer _inspector = null!;
    private readonly List<ApiReplica> _replicas = [];

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.Shared()).CreateDatabaseAsync("deadwriter");
        _redis = await RedisServer.StartAsync();
        _writerLink = TcpProxy.Start(_redis.Port);
        _inspector = await ConnectionMultiplexer.ConnectAsync($"{_redis.ConnectionString},abortConnect=false").WaitAsync(Bound);
        _replicas.AddRange(await Task.WhenAll(
            ApiReplica.StartAsync("writer", database, $"127.0.0.1:{_writerLink.Port}", NoSafetyNet),
            ApiReplica.StartAsync("reader-1", database, _redis.ConnectionString, NoSafetyNet),
            ApiReplica.StartAsync("reader-2", database, _redis.ConnectionString, NoSafetyNet)));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _replicas) await r.DisposeAsync();
        if (_inspector is not null) await _inspector.DisposeAsync();
        if (_writerLink is not null) await _writerLink.DisposeAsync();
        if (_redis is not null) await _redis.DisposeAsync();
    }

    [Fact]
    public async Task AWriterKilledAfterCommittingAnUpdateAndADelete_ThatNeverReachedRedis_TheOtherReplicasServeBothWithinSeconds()
    {
        var writer = _replicas[0];
        var readers = _replicas.Skip(1).Select(r => r.Client()).ToArray();
        var run = Guid.NewGuid().ToString("N")[..8];
        var (changedKey, deletedKey) = ($"dw-{run}-changed", $"dw-{run}-deleted");
        var changed = await Create(writer.Client(), changedKey);
        var deleted = await Create(writer.Client(), deletedKey);

        // both readers serve version 1 of both, from their snapshot (OFREP and REST)
        foreach (var reader in readers)
            Assert.True(await Wait.Until(async () => await Evaluates(reader, changedKey) == false && await Evaluates(reader, deletedKey) == false
                && await VersionOf(reader, changed) == 1 && await VersionOf(reader, deleted) == 1, Bound), "a reader never served the new flags");

        // the writer loses Redis; it commits and acknowledges both writes all the same
        _writerLink.Cut();
        var patch = await writer.Client().PatchAsJsonAsync($"/api/flags/{changed}", new { enabled = true }, ApiFactory.JsonOptions);
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        Assert.Equal(2, (await patch.ReadJson()).GetProperty("version").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, (await writer.Client().DeleteAsync($"/api/flags/{deleted}")).StatusCode);
        await writer.Kill(); // SIGKILL: nothing it still meant to do happens
        var clock = Stopwatch.StartNew();

        foreach (var (reader, i) in readers.Select((r, i) => (r, i)))
        {
            // another process: nothing in it signals this test, so ask until it answers right
            var served = await Wait.Until(async () => await Evaluates(reader, changedKey) == true && await VersionOf(reader, changed) == 2
                && await Evaluates(reader, deletedKey) is null && await VersionOf(reader, deleted) is null, Bound);
            Assert.True(served, $"reader {i + 1}, {clock.Elapsed.TotalSeconds:F1} s after the writer died: OFREP {changedKey} = " +
                $"{await Evaluates(reader, changedKey)}, GET version {await VersionOf(reader, changed)} (want true, 2); OFREP {deletedKey} = " +
                $"{await Evaluates(reader, deletedKey)}, GET version {await VersionOf(reader, deleted)} (want not found)\n{_replicas[i + 1].Output}");
        }
        output.WriteLine($"both readers served the dead writer's update and delete {clock.Elapsed.TotalSeconds:F2} s after it died");
    }

    private static async Task<string> Create(HttpClient client, string name)
    {
        var response = await client.PostJson("/api/flags", new { name, enabled = false, rolloutPercentage = 100 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJson()).GetProperty("id").GetString()!;
    }

    /// <summary>The OFREP value for a user, or null when the replica does not know the flag (404).</summary>
    private static async Task<bool?> Evaluates(HttpClient client, string key)
    {
        var response = await client.PostAsJsonAsync($"/ofrep/v1/evaluate/flags/{key}", new { context = new { targetingKey = "user-1" } });
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return (await response.ReadJson()).GetProperty("value").GetBoolean();
    }

    /// <summary>The version <c>GET /api/flags/{id}</c> serves, or null for 404.</summary>
    private static async Task<long?> VersionOf(HttpClient client, string id)
    {
        var response = await client.GetAsync($"/api/flags/{id}");
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return (await response.ReadJson()).GetProperty("version").GetInt64();
    }
}
