using FlagAnalyzer.Api.Rollouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Tests.Api;

/// <summary>The test host itself: what a test configures must hold for the whole test, across a restart too.</summary>
public sealed class ApiFactoryTests
{
    [Fact]
    public async Task Restart_KeepsTheSettings_SoARestartedAppRunsWithTheTestsTimers()
    {
        var first = new ApiFactory();
        first.Settings["Rollouts:TickInterval"] = "1.00:00:00";
        Assert.Equal(TimeSpan.FromDays(1), TickInterval(first));
        await first.DisposeAsync();

        await using var restarted = first.Restart();

        // without the setting it would be the default 5 s, and a test that ticks the guardian itself would race its timer
        Assert.Equal(TimeSpan.FromDays(1), TickInterval(restarted));
        Assert.Equal(first.DatabasePath, restarted.DatabasePath);
    }

#if !POSTGRES // about the SQLite file's connection pool
    [Fact]
    public async Task Dispose_ClosesTheAppsOwnPooledConnections_WithoutClearingEveryPool()
    {
        var app = new ApiFactory();
        Assert.True((await app.CreateClient().PostJson("/api/flags", new { name = "pooled" })).IsSuccessStatusCode);
        // the app's pooled connections hold the database open: its write-ahead log is there
        Assert.True(File.Exists(app.DatabasePath + "-wal"));

        await app.DisposeAsync();

        // SQLite checkpoints and removes the log when the last connection closes: the clear reached the app's own pool
        // (Microsoft.Data.Sqlite keys pools by the exact connection string), so ClearAllPools is not needed
        Assert.False(File.Exists(app.DatabasePath + "-wal"), "the app's pooled connections are still open after Dispose");
    }
#endif

    private static TimeSpan TickInterval(ApiFactory app) =>
        app.Services.GetRequiredService<IOptions<RolloutOptions>>().Value.TickInterval;
}
