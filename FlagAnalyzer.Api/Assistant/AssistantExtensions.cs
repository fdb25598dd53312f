namespace FlagAnalyzer.Api.Assistant;

public static class AssistantExtensions
{
    public static IHostApplicationBuilder AddAssistant(this IHostApplicationBuilder builder) => builder;

    public static IEndpointRouteBuilder MapAssistantApi(this IEndpointRouteBuilder app) => app;
}
