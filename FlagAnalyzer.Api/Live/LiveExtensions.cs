using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live.Ws;
using FlagAnalyzer.Api.Storage;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Live;

public static class LiveExtensions
{
    public static IHostApplicationBuilder AddLive(this IHostApplicationBuilder builder)
    {
        var options = new LiveOptions(RedisConnection.IsConfigured(builder.Configuration) ? builder.Configuration.GetConnectionString(RedisConnection.Name) : null);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ILiveEventPublisher, LiveEventPublisher>();
        builder.Services.Configure<WsOptions>(builder.Configuration.GetSection(WsOptions.Section));
        builder.Services.AddSingleton<WsBridge>();
        builder.Services.AddSingleton<LiveDispatcher>();
        builder.Services.AddSingleton<ILiveEventSink>(sp => sp.GetRequiredService<LiveDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveDispatcher>());

        var signalR = builder.Services.AddSignalR()
            .AddJsonProtocol(o => Json.Configure(o.PayloadSerializerOptions));
        if (options.RedisConnectionString is not null)
        {
            // on the process's shared Redis connection (Storage/RedisConnection), which starts and keeps retrying
            // while Redis is down; HTTP never waits on it (LiveDispatcher queues). The backplane's channels are
            // named by the hub's full name (FlagAnalyzer.Api.Live.LiveHub:…): a shared connection has no channel prefix.
            signalR.AddStackExchangeRedis();
            builder.Services.AddOptions<RedisOptions>().Configure<IServiceProvider>((o, sp) =>
                o.ConnectionFactory = _ => Task.Run(sp.GetRequiredService<IConnectionMultiplexer>));
        }
        return builder;
    }

    public static WebApplication MapLiveEndpoints(this WebApplication app)
    {
        // clients that opt in (withStatefulReconnect) survive a network blip with their groups and missed messages
        app.MapHub<LiveHub>(LiveHub.Path, o => o.AllowStatefulReconnects = true);
        app.MapSeedWebSocket();
        return app;
    }
}
