using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

public static class FlagsExtensions
{
    /// <summary>The Aspire resource (and connection string) name of the shared Redis.</summary>
    public const string CacheConnectionName = RedisConnection.Name;

    public static IHostApplicationBuilder AddFlags(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("FlagCache");
        builder.Services.Configure<FlagCacheOptions>(section);
        if (!section.GetValue(nameof(FlagCacheOptions.Enabled), true))
        {
            builder.Services.AddSingleton<IFlagCache, NoFlagCache>();
        }
        else if (!RedisConnection.IsConfigured(builder.Configuration))
        {
            // without Redis nothing tells this process of another replica's writes: on a shared PostgreSQL database every
            // flag read goes to the database, so replicas never disagree; a SQLite file has one process, which may cache
            if (Db.ProviderOf(builder.Configuration.GetConnectionString("flagdb") ?? "") == DbProvider.Postgres)
                builder.Services.AddSingleton<IFlagCache, NoFlagCache>();
            else
                builder.Services.AddSingleton<IFlagCache, InProcessFlagCache>();
        }
        else
        {
            // on the process's shared Redis connection (Storage/RedisConnection)
            builder.Services.AddSingleton<RedisFlagCache>();
            builder.Services.AddSingleton<IFlagCache>(sp => sp.GetRequiredService<RedisFlagCache>());
            builder.Services.AddHostedService<RedisFlagCacheStarter>();
        }
        builder.Services.AddHealthChecks().AddCheck<FlagCacheHealthCheck>("cache");
        builder.Services.AddSingleton<FlagReader>();
        builder.Services.AddSingleton<IFlagIds>(sp => sp.GetRequiredService<FlagReader>());
        builder.Services.AddSingleton<IFlagLookup, FlagLookup>();
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
