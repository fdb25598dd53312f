using FlagAnalyzer.Api.Common;

namespace FlagAnalyzer.Api.Environments;

public static class EnvironmentsExtensions
{
    public static IHostApplicationBuilder AddEnvironments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<EnvironmentService>();
        builder.Services.AddSingleton<IEnvironmentRegistry>(sp => sp.GetRequiredService<EnvironmentService>());
        return builder;
    }
}
