using FlagAnalyzer.Api.Common;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Flags;

public static class FlagsExtensions
{
    /// <summary>The Aspire resource (and connection string) name of the shared Redis.</summary>
    public const string CacheConnectionName = "cache";

    public static IHostApplicationBuilder AddFlags(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("FlagCache");
        builder.Services.Configure<FlagCacheOptions>(section);
        if (!section.GetValue(nameof(FlagCacheOptions.Enabled), true))
        {
            builder.Services.AddSingleton<IFlagCache, NoFlagCache>();
        }
        else if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(CacheConnectionName)))
        {
            builder.Services.AddSingleton<IFlagCache, InProcessFlagCache>();
        }
        else
        {
            builder.AddRedisClient(CacheConnectionName,
                // the "cache" check below reports Redis as degraded, not unhealthy: the API works without it
                settings => settings.DisableHealthChecks = true,
                options =>
                {
                    options.AbortOnConnectFail = false;
                    // while disconnected, fail at once (the read goes to SQLite) instead of queueing for seconds
                    options.BacklogPolicy = BacklogPolicy.FailFast;
                    options.ReconnectRetryPolicy = new ExponentialRetry(500, 5000);
                });
            builder.Services.AddSingleton<RedisFlagCache>();
            builder.Services.AddSingleton<IFlagCache>(sp => sp.GetRequiredService<RedisFlagCache>());
            builder.Services.AddHostedService<RedisFlagCacheStarter>();
        }
        builder.Services.AddHealthChecks().AddCheck<FlagCacheHealthCheck>("cache");
        builder.Services.AddSingleton<FlagReader>();
        builder.Services.AddSingleton<IFlagIds>(sp => sp.GetRequiredService<FlagReader>());
        builder.Services.AddSingleton<FlagService>();
        return builder;
    }

    /// <summary>Connects and subscribes at start-up rather than on the first flag read.</summary>
    private sealed class RedisFlagCacheStarter(RedisFlagCache cache) : IHostedService
    {
        public Task StartAsync(CancellationToken ct) => cache.StartAsync();
        public Task StopAsync(CancellationToken ct) => cache.StopAsync();
    }
}
