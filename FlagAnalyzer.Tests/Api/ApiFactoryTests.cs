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

    private static TimeSpan TickInterval(ApiFactory app) =>
        app.Services.GetRequiredService<IOptions<RolloutOptions>>().Value.TickInterval;
}
