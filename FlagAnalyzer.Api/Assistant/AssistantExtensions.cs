using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlagAnalyzer.Api.Assistant;

public static class AssistantExtensions
{
    public static IHostApplicationBuilder AddAssistant(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IAssistant, PendingAssistant>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAssistantApi(this IEndpointRouteBuilder app) => app;
}
