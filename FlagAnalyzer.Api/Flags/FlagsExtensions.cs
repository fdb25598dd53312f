using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

public static class FlagsExtensions
{
    /// <summary>The Aspire resource (and connection string) name of the shared Redis.</summary>
    public const string CacheConnectionName = RedisConnection.Name;

    /// <summary>Flags, the change feed's write side and its dispatcher. The flag cache (<see cref="IFlagCache"/>) is Evaluation's snapshot.</summary>
    public static IHostApplicationBuilder AddFlags(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<ChangeFeedOptions>(builder.Configuration.GetSection("ChangeFeed"));
        builder.Services.AddSingleton<ChangeFeed>();
        builder.Services.AddSingleton<ChangeDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChangeDispatcher>());
        builder.Services.AddSingleton<IChangeFeedSubscriber, LiveChangeSubscriber>();
        builder.Services.AddSingleton<IChangeFeedSubscriber, RefinementSubscriber>();
        builder.Services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("cache")
            .AddCheck<ChangeFeedHealthCheck>("change-feed");
        builder.Services.AddSingleton<FlagReader>();
        builder.Services.AddSingleton<IFlagIds>(sp => sp.GetRequiredService<FlagReader>());
        builder.Services.AddSingleton<IFlagLookup, FlagLookup>();
        builder.Services.AddSingleton<FlagService>();
        builder.Services.AddSingleton<IEnvironmentFlags, EnvironmentFlagRows>();
        builder.Services.AddSingleton<FlagConfigurationBackfill>();
        return builder;
    }
}
