using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Live;
using FlagAnalyzer.Tests.Support;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// Three real API processes on one PostgreSQL database and one redis-server, as <c>api-replicas=3</c> runs them:
/// what one replica writes, the others serve and push; concurrent writes spread over all three lose nothing and
/// duplicate nothing; a replica killed mid-run takes no acknowledged write with it.
/// </summary>
[Collection(nameof(MultiReplicaCollection))]
public sealed class MultiReplicaTests : IAsyncLifetime
{
    private const int Operations = 300;
    private const int SharedFlags = 30;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    private RedisServer _redis = null!;
    private readonly List<ApiReplica> _replicas = [];

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.Shared()).CreateDatabaseAsync("replicas");
        _redis = await RedisServer.StartAsync();
        // started together, as an orchestrator starts them: the migrations and the bootstrap key must cope
        _replicas.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(i => ApiReplica.StartAsync($"api-{i}", database, _redis.ConnectionString))));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _replicas) await r.DisposeAsync();
        if (_redis is not null) await _redis.DisposeAsync();
    }

    [Fact]
    public async Task AChangeOnOneReplica_IsServedByOfrepOnAnother_AndPushedToAHubClientOnAThird()
    {
        var (writer, evaluator, pusher) = (_replicas[0].Client(), _replicas[1].Client(), _replicas[2]);
        var name = $"live-{Guid.NewGuid():N}"[..20];
        var created = await (await writer.PostJson("/api/flags", new { name, enabled = false, rolloutPercentage = 100 })).ReadJson();
        var id = created.GetProperty("id").GetString()!;
        Assert.False(await EvaluatesOn(evaluator, name));

        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(pusher.BaseAddress, LiveHub.Path), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.AccessTokenProvider = () => Task.FromResult<string?>(TestKeys.Admin);
        }).Build();
        var inbox = new LiveInbox();
        hub.On<JsonElement>("event", e => inbox.Add(e));
        await hub.StartAsync().WaitAsync(LiveInbox.Timeout);
        await hub.InvokeAsync("Subscribe", LiveTopics.Flag(id)).WaitAsync(LiveInbox.Timeout);

        var pushed = inbox.WaitFor(m => LiveInbox.Is(m, LiveEventTypes.FlagUpdated, id)
            && m.GetProperty("payload").TryGetProperty("enabled", out var e) && e.ValueKind == JsonValueKind.True, "flag.updated (enabled)");
        (await writer.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = true }, ApiFactory.JsonOptions)).EnsureSuccessStatusCode();

        // another process: no signal reaches this test from its snapshot, so ask it until it answers true. That it
        // arrives is the test; how fast (the 1 s target) is the benchmarks' (benchmarks/README.md: change on one
        // replica → evaluated on another, p99 13 ms on a quiet machine), not a loaded CI machine's
        Assert.True(await Wait.Until(() => EvaluatesOn(evaluator, name), Wait.Arrival),
            $"replica 1 still evaluated {name} as off {Wait.Arrival.TotalSeconds} s after replica 0 acknowledged enabling it");
        await pushed; // its own timeout (LiveInbox.Timeout) names what arrived instead
    }

    [Fact]
    public async Task ConcurrentCreatesAndChanges_AcrossThreeReplicas_OneKilledMidRun_LoseAndDuplicateNothing()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var clients = _replicas.Select(r => r.Client()).ToArray();
        var shared = new string[SharedFlags];
        for (var j = 0; j < SharedFlags; j++)
            shared[j] = (await (await clients[j % 3].PostJson("/api/flags", new { name = $"mr-{run}-shared-{j}" })).ReadJson()).GetProperty("id").GetString()!;

        var createdNames = new ConcurrentBag<(string Name, string Id)>();         // acknowledged creates
        var changeVersions = new ConcurrentBag<(string FlagId, long Version)>(); // acknowledged changes, with the version each got
        var unacknowledged = 0;
        var ackedByVictim = 0;
        var victimDown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var enoughFromVictim = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new SemaphoreSlim(24);

        // the crash: once replica 2 has acknowledged 20 writes, kill it while the rest are in flight
        var killer = Task.Run(async () =>
        {
            await enoughFromVictim.Task.WaitAsync(RunTimeout);
            await _replicas[2].Kill();
            victimDown.TrySetResult();
        });

        var operations = Enumerable.Range(0, Operations).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var replica = i % 3;
                HttpResponseMessage response;
                try
                {
                    response = i % 2 == 0
                        ? await clients[replica].PostJson("/api/flags", new { name = $"mr-{run}-op-{i}", description = $"op {i} on replica {replica}" })
                        // each value is this operation's own (no two operations on one flag share it), so every change really changes
                        : await clients[replica].PatchAsJsonAsync($"/api/flags/{shared[i % SharedFlags]}", new { rolloutPercentage = 1 + i % 100 }, ApiFactory.JsonOptions);
                }
                catch (HttpRequestException) when (replica == 2)
                {
                    Interlocked.Increment(ref unacknowledged); // the killed replica's connection went away: not acknowledged
                    return;
                }
                if (!response.IsSuccessStatusCode)
                {
                    Assert.True(replica == 2, $"replica {replica} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    Interlocked.Increment(ref unacknowledged);
                    return;
                }
                var body = await response.ReadJson();
                if (i % 2 == 0) createdNames.Add((body.GetProperty("name").GetString()!, body.GetProperty("id").GetString()!));
                else changeVersions.Add((body.GetProperty("id").GetString()!, body.GetProperty("version").GetInt64()));
                if (replica == 2 && Interlocked.Increment(ref ackedByVictim) == 20) enoughFromVictim.TrySetResult();
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(operations).WaitAsync(RunTimeout);
        await victimDown.Task.WaitAsync(RunTimeout);
        await killer;

        Assert.True(_replicas[2].HasExited);
        Assert.InRange(ackedByVictim, 20, Operations / 3);
        var survivor = clients[0];

        // none lost: every acknowledged create is there, once; every name there is an operation's, once
        var stored = await ListFlags(survivor, $"mr-{run}-op-");
        Assert.Equal(stored.Count, stored.Select(f => f.Name).Distinct().Count());
        Assert.Equal(stored.Count, stored.Select(f => f.Id).Distinct().Count());
        var storedIds = stored.ToDictionary(f => f.Name, f => f.Id);
        Assert.All(createdNames, c => Assert.Equal(c.Id, storedIds.GetValueOrDefault(c.Name)));
        // what was not acknowledged may or may not have been committed before the crash, but nothing else appeared
        Assert.InRange(stored.Count, createdNames.Count, createdNames.Count + unacknowledged);

        // changes: no two acknowledged changes of a flag got the same version (no lost update), each flag's version
        // is its change-log length, and covers every version acknowledged for it
        foreach (var group in changeVersions.GroupBy(c => c.FlagId))
            Assert.Equal(group.Count(), group.Select(c => c.Version).Distinct().Count());
        foreach (var id in shared)
        {
            var flag = await (await survivor.GetAsync($"/api/flags/{id}")).ReadJson();
            var version = flag.GetProperty("version").GetInt64();
            var changes = await ChangeCount(survivor, id);
            // (a replica killed between its commit and its cache write-through must not leave the others serving the old flag)
            Assert.True(version == changes, $"flag {id} is served at version {version} but has {changes} change-log rows; " +
                $"acknowledged versions: {string.Join(", ", changeVersions.Where(c => c.FlagId == id).Select(c => c.Version).Order())}");
            var acked = changeVersions.Where(c => c.FlagId == id).ToList();
            Assert.True(version >= 1 + acked.Count, $"flag {id} is at version {version} after {acked.Count} acknowledged changes");
            Assert.All(acked, c => Assert.InRange(c.Version, 2, version));
        }
        // the other survivor reads the same
        var fromOther = await ListFlags(clients[1], $"mr-{run}-op-");
        Assert.Equal(stored.Select(f => f.Id).Order(), fromOther.Select(f => f.Id).Order());
    }

    private static async Task<bool> EvaluatesOn(HttpClient client, string key)
    {
        var response = await client.PostAsJsonAsync($"/ofrep/v1/evaluate/flags/{key}", new { context = new { targetingKey = "user-1" } });
        var body = await response.ReadJson();
        return body.GetProperty("value").GetBoolean();
    }

    private static async Task<List<(string Name, string Id)>> ListFlags(HttpClient client, string prefix)
    {
        var flags = new List<(string, string)>();
        string? cursor = null;
        for (var page = 0; page < 100; page++)
        {
            var url = $"/api/flags?q={Uri.EscapeDataString(prefix)}&limit=500" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var body = await (await client.GetAsync(url)).ReadJson();
            foreach (var f in body.GetProperty("items").EnumerateArray())
                if (f.GetProperty("name").GetString() is { } n && n.StartsWith(prefix, StringComparison.Ordinal))
                    flags.Add((n, f.GetProperty("id").GetString()!));
            if (body.GetProperty("nextCursor").ValueKind != JsonValueKind.String) return flags;
            cursor = body.GetProperty("nextCursor").GetString();
        }
        throw new InvalidOperationException("more than 100 pages of flags");
    }

    private static async Task<long> ChangeCount(HttpClient client, string flagId)
    {
        long count = 0;
        string? cursor = null;
        for (var page = 0; page < 100; page++)
        {
            var url = $"/api/flags/{flagId}/changes?limit=500" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.ReadJson();
            count += body.GetProperty("items").GetArrayLength();
            if (body.GetProperty("nextCursor").ValueKind != JsonValueKind.String) return count;
            cursor = body.GetProperty("nextCursor").GetString();
        }
        throw new InvalidOperationException("more than 100 pages of changes");
    }
}

/// <summary>Three API processes are all two cores can take at once: these tests run alone.</summary>
[CollectionDefinition(nameof(MultiReplicaCollection), DisableParallelization = true)]
public sealed class MultiReplicaCollection;
