using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Webhooks;
using FlagAnalyzer.Tests.Support;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// Issue 27's promise across replicas: two real API processes on one PostgreSQL database, both writing flags and both
/// running delivery workers, deliver one webhook's events to a real receiver every one of them, each once, in revision
/// order — whichever replica committed the change and whichever claimed the delivery.
/// </summary>
[Collection(nameof(MultiReplicaCollection))]
public sealed class WebhooksAcrossReplicasTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Flags = 4;
    private const int Writes = 60;
    private readonly List<ApiReplica> _replicas = [];
    private readonly WebhookReceiver _receiver = new();

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.Shared()).CreateDatabaseAsync("hooks");
        var settings = new Dictionary<string, string>
        {
            ["Webhooks__SecretKey"] = WebhookDeliveryTests.TestSecretKey,
            ["Webhooks__AllowPrivateTargets"] = "true",
        };
        _replicas.AddRange(await Task.WhenAll(Enumerable.Range(0, 2).Select(i => ApiReplica.StartAsync($"hooks-{i}", database, "", settings))));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _replicas) await r.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task ChangesCommittedOnTwoReplicas_ReachOneWebhook_EachOnce_InRevisionOrder()
    {
        var clients = _replicas.Select(r => r.Client()).ToArray();
        (await clients[0].PostJson("/api/webhooks", new { url = _receiver.Url, events = new[] { "flag.created", "flag.changed" }, secret = "whsec-replicas-0123456789abcdef" }))
            .EnsureSuccessStatusCode();
        var flags = new string[Flags];
        for (var j = 0; j < Flags; j++)
            flags[j] = (await (await clients[j % 2].PostJson("/api/flags", new { name = $"hooked-{j}" })).ReadJson()).GetProperty("id").GetString()!;

        // both replicas write at once, so commits (and the outbox rows behind the deliveries) interleave between them
        await Task.WhenAll(Enumerable.Range(0, Writes).Select(async i =>
        {
            var response = await clients[i % 2].PatchAsJsonAsync($"/api/flags/{flags[i % Flags]}", new { rolloutPercentage = Math.Round(0.5 * i + 0.5, 1) },
                ApiFactory.JsonOptions);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));

        var expected = new List<long>();
        for (long position = 0; ;)
        {
            var page = await (await clients[1].GetAsync($"/api/flags/changes?afterRevision={position}&limit=500")).ReadAs<Page<FlagChange>>();
            expected.AddRange(page.Items.Select(c => c.Revision));
            if (page.Items.Count > 0) position = page.Items[^1].Revision;
            if (page.NextCursor is null) break;
        }
        Assert.Equal(Flags + Writes, expected.Count);

        var delivered = new List<long>();
        while (delivered.Count < expected.Count)
            delivered.Add((await _receiver.NextAsync()).Json.GetProperty("revision").GetInt64());
        output.WriteLine($"{delivered.Count} deliveries of {expected.Count} revisions committed on two replicas");

        Assert.Equal(expected, delivered); // every revision, once, in order
    }
}
