using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// Issue 28: a change committed on one replica reaches the OFREP event streams held by another. Two real API processes
/// on one PostgreSQL database and one redis-server; the stream is held on B, the change is made on A. B's safety-net
/// reload is an hour, so only the way replicas hear of each other's commits (whatever it is) can bring the event in time.
/// </summary>
[Collection(nameof(MultiReplicaCollection))]
public sealed class EventStreamAcrossReplicasTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ApiReplica _a = null!;
    private ApiReplica _b = null!;

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.Shared()).CreateDatabaseAsync("streams");
        _redis = await RedisServer.StartAsync();
        var slowSafetyNet = new Dictionary<string, string> { ["Evaluation__FeedPollMilliseconds"] = "3600000" };
        _a = await ApiReplica.StartAsync("stream-a", database, _redis.ConnectionString, slowSafetyNet);
        _b = await ApiReplica.StartAsync("stream-b", database, _redis.ConnectionString, slowSafetyNet);
    }

    public async Task DisposeAsync()
    {
        if (_a is not null) await _a.DisposeAsync();
        if (_b is not null) await _b.DisposeAsync();
        if (_redis is not null) await _redis.DisposeAsync();
    }

    [Fact]
    public async Task ChangeOnReplicaA_SendsRefetchEvaluation_ToAStreamHeldOnReplicaB_AndBsRefetchSeesIt()
    {
        var admin = _a.Client();
        var created = await (await admin.PostJson("/api/flags", new { name = "replica-streamed", enabled = true, rolloutPercentage = 100, targetEnvironment = "production" })).ReadJson();
        var sdkKey = (await admin.CreateKeyAsync("sdk", "production")).Secret;
        var onB = new HttpClient { BaseAddress = _b.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }.WithKey(sdkKey);
        async Task<bool?> ServedOnB(string query)
        {
            var r = await onB.PostAsJsonAsync("/ofrep/v1/evaluate/flags" + query, new { context = new { targetingKey = "u" } });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return (await r.ReadJson()).GetProperty("flags").EnumerateArray().SingleOrDefault(f => f.GetProperty("key").GetString() == "replica-streamed")
                is { ValueKind: JsonValueKind.Object } f ? f.GetProperty("value").GetBoolean() : null;
        }
        // B serves the flag (it has it), and its bulk answer names a stream on B
        Assert.True(await Wait.Until(async () => await ServedOnB("") == true, Wait.Arrival), "B never served the flag created on A");
        var url = (await (await onB.PostAsJsonAsync("/ofrep/v1/evaluate/flags", new { context = new { } })).ReadJson())
            .GetProperty("eventStreams")[0].GetProperty("url").GetString()!;
        Assert.Equal(_b.BaseAddress.Authority, new Uri(url).Authority);

        using var streamClient = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var response = await streamClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(Wait.Arrival);
        Assert.Equal(": open", await reader.ReadLineAsync(timeout.Token));

        (await admin.PatchAsJsonAsync($"/api/flags/{created.GetProperty("id").GetString()}", new { enabled = false })).EnsureSuccessStatusCode();

        string? line;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith("data: ", StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        var data = JsonDocument.Parse(line[6..]).RootElement;
        Assert.Equal("refetchEvaluation", data.GetProperty("type").GetString());
        Assert.False(await ServedOnB($"?flagConfigEtag={Uri.EscapeDataString(data.GetProperty("etag").GetString()!)}"));
    }
}
