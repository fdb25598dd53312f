using FlagAnalyzer.Api.Llm;

namespace FlagAnalyzer.Api.Assistant;

public static class AssistantExtensions
{
    /// <summary>
    /// The assistant: it answers with the model's tools when <see cref="LlmExtensions.AddLlm"/> registered a chat
    /// client, and from data otherwise.
    /// </summary>
    public static IHostApplicationBuilder AddAssistant(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<AssistantData>();
        services.AddSingleton<AssistantTools>();
        services.AddSingleton<DataAnswerer>();
        services.AddSingleton<IAssistant, ChatAssistant>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAssistantApi(this IEndpointRouteBuilder app) => app.MapChatApi();
}
