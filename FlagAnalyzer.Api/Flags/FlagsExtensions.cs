namespace FlagAnalyzer.Api.Flags;

public static class FlagsExtensions
{
    public static IHostApplicationBuilder AddFlags(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IFlagCache, InProcessFlagCache>();
        builder.Services.AddSingleton<FlagReader>();
        builder.Services.AddSingleton<FlagService>();
        return builder;
    }
}
