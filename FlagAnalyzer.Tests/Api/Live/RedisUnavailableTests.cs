using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>Redis configured but nothing listening: live updates degrade, the API does not.</summary>
public sealed class RedisUnavailableTests
{
    [Fact]
    public async Task RedisUnreachableAtStart_ApiStartsAndFlagChangesSucceed()
    {
        // a port held (bound, never listening) for the whole test: connecting is refused, and no parallel test can
        // start a server on it in the meantime
        using var held = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        held.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var deadPort = ((IPEndPoint)held.LocalEndPoint!).Port;
        await using var app = LiveApp.Start($"127.0.0.1:{deadPort},connectTimeout=500");
        var flagId = await app.CreateFlagAsync("no-redis");

        var response = await app.Http.PostAsJsonAsync("/api/flags/change", new { flagId, changeType = "enabled", changedBy = "ops", environment = "staging" });
        await app.Publisher.PublishAsync(new LiveEvent(LiveEventTypes.AnomalyDetected, LiveHubTests.TestAnomaly(flagId), flagId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await (await app.Http.GetAsync($"/api/flags/{flagId}")).ReadJson()).GetProperty("enabled").GetBoolean());
    }
}
