using System.Net;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Tests.Api;
using StackExchange.Redis;

namespace FlagAnalyzer.Tests.AppHost;

[Collection("AppHost")]
public sealed class AppHostCacheTests(AppHostFixture stack) : IClassFixture<AppHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Flag_CreatedThroughTheStack_IsReadBackAndHeldInRedis()
    {
        var api = stack.Api();
        var name = $"stack-{Guid.NewGuid():N}"[..24];
        var created = await (await api.PostJson("/api/flags", new { name, enabled = true }).WaitAsync(Timeout)).ReadAs<Flag>();

        var read = await (await api.GetAsync($"/api/flags/{name}").WaitAsync(Timeout)).ReadAs<Flag>();
        Assert.Equal((created.Id, true), (read.Id, read.Enabled));

        var cs = await stack.App.GetConnectionStringAsync("cache").AsTask().WaitAsync(Timeout);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cs!).WaitAsync(Timeout);
        var held = Json.Deserialize<Flag>(await redis.GetDatabase().HashGetAsync(RedisFlagCache.FlagKeyPrefix + created.Id, "json").WaitAsync(Timeout));
        Assert.Equal((name, 1L), (held?.Name, held?.Version));
    }

    [Fact]
    public async Task Health_ReportsRedisByAddress()
    {
        var health = await stack.Api().GetAsync("/health").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var cache = (await health.ReadJson()).GetProperty("checks").GetProperty("cache");
        var cs = await stack.App.GetConnectionStringAsync("cache").AsTask().WaitAsync(Timeout);
        Assert.Equal(("Healthy", $"Redis at {cs}"), (cache.GetProperty("status").GetString(), cache.GetProperty("description").GetString()));
    }
}
