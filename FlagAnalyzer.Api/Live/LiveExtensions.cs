namespace FlagAnalyzer.Api.Live;

public static class LiveExtensions
{
    public static IHostApplicationBuilder AddLive(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ILiveEventPublisher, LiveEventPublisher>();
        return builder;
    }

    public static WebApplication MapLiveEndpoints(this WebApplication app) => app;
}
