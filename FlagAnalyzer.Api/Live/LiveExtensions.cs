using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live.Ws;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Live;

public static class LiveExtensions
{
    public static IHostApplicationBuilder AddLive(this IHostApplicationBuilder builder)
    {
        var options = new LiveOptions(builder.Configuration.GetConnectionString("cache") is { Length: > 0 } cs ? cs : null);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ILiveEventPublisher, LiveEventPublisher>();
        builder.Services.Configure<WsOptions>(builder.Configuration.GetSection(WsOptions.Section));
        builder.Services.AddSingleton<WsBridge>();
        builder.Services.AddSingleton<LiveDispatcher>();
        builder.Services.AddSingleton<ILiveEventSink>(sp => sp.GetRequiredService<LiveDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveDispatcher>());

        var signalR = builder.Services.AddSignalR()
            .AddJsonProtocol(o => Json.Configure(o.PayloadSerializerOptions));
        if (options.RedisConnectionString is { } redis)
        {
            signalR.AddStackExchangeRedis(redis, o =>
            {
                o.Configuration.ChannelPrefix = RedisChannel.Literal(LiveOptions.ChannelPrefix);
                // start and keep retrying while Redis is down; HTTP never waits on it (LiveDispatcher queues)
                o.Configuration.AbortOnConnectFail = false;
            });
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
