using System.Diagnostics;
using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;

namespace FlagAnalyzer.Tests.AppHost;

[Collection("AppHost")]
public sealed class AppHostRedisOutageTests(AppHostFixture stack) : IClassFixture<AppHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RedisProcessKilled_ApiKeepsWritingAndAnswering_AndHealthSaysDegraded()
    {
        var api = stack.Api();
        var name = $"outage-{Guid.NewGuid():N}"[..24];
        var created = await (await api.PostJson("/api/flags", new { name }).WaitAsync(Timeout)).ReadAs<Flag>();

        var running = await stack.App.ResourceNotifications
            .WaitForResourceAsync("cache", e => e.Snapshot.State?.Text == KnownResourceStates.Running).WaitAsync(Timeout);
        var pid = Convert.ToInt32(running.Snapshot.Properties.Single(p => p.Name == "executable.pid").Value);
        Process.GetProcessById(pid).Kill();
        await stack.App.ResourceNotifications
            .WaitForResourceAsync("cache", e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text)).WaitAsync(Timeout);

        // the API knows Redis is gone once its health says so; from then on writes and reads go on without it: a change
        // committed now is read back at once (the snapshot follows the change feed in the database, not Redis). Before the
        // change feed this test edited the row behind the API's back to prove reads skipped a stale Redis copy; that copy
        // is retired, and a row edited outside a change is, by design, not a change (README "How a change flows").
        var deadline = DateTime.UtcNow + Timeout;
        while (await CacheStatusAsync(api) != "Degraded" && DateTime.UtcNow < deadline) await Task.Delay(100);
        var edited = await api.PatchAsync($"/api/flags/{created.Id}",
            new StringContent("""{"description":"edited while Redis is down"}""", System.Text.Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var read = await (await api.GetAsync($"/api/flags/{name}").WaitAsync(Timeout)).ReadAs<Flag>();
        Assert.Equal((created.Id, "edited while Redis is down"), (read.Id, read.Description));
        var patched = await (await api.PatchAsync($"/api/flags/{created.Id}",
            new StringContent("""{"enabled":true}""", System.Text.Encoding.UTF8, "application/json")).WaitAsync(Timeout)).ReadAs<Flag>();
        Assert.True(patched.Enabled);
        Assert.True((await (await api.GetAsync($"/api/flags/{created.Id}").WaitAsync(Timeout)).ReadAs<Flag>()).Enabled);

        var health = await api.GetAsync("/health").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        Assert.Equal("Degraded", cache.GetProperty("status").GetString());
        Assert.StartsWith("degraded: no Redis", cache.GetProperty("description").GetString());
    }

    private static async Task<string?> CacheStatusAsync(HttpClient api) =>
        (await (await api.GetAsync("/health").WaitAsync(Timeout)).ReadJson()).GetProperty("checks").GetProperty("cache").GetProperty("status").GetString();
}
