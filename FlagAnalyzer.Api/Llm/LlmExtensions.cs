using FlagAnalyzer.Api.Predictions;
using Microsoft.Extensions.AI;
using OllamaSharp;

namespace FlagAnalyzer.Api.Llm;

public static class LlmExtensions
{
    /// <summary>Telemetry source of model calls (under <c>FlagAnalyzer.*</c>, so ServiceDefaults exports it).</summary>
    public const string TelemetrySource = "FlagAnalyzer.Llm";

    /// <summary>
    /// The model connection, its options, health check and start-up notice, and — when <c>ConnectionStrings:llm</c>
    /// names an Ollama endpoint — the model pipeline (function invocation, OpenTelemetry, logging) and the prediction
    /// refiner. Without it nothing of the model is registered and the assistant answers from data.
    /// </summary>
    public static IHostApplicationBuilder AddLlm(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var llm = LlmConnection.Parse(builder.Configuration.GetConnectionString("llm"));
        services.AddSingleton(llm);
        services.AddOptions<LlmOptions>().Bind(builder.Configuration.GetSection(LlmOptions.Section))
            .Validate(o => o.ChatTimeout > TimeSpan.Zero && o.PredictionTimeout > TimeSpan.Zero && o.HealthTimeout > TimeSpan.Zero,
                "Llm:ChatTimeout, Llm:PredictionTimeout and Llm:HealthTimeout must be positive")
            .Validate(o => o.MaxToolRounds >= 1 && o.HistoryMessages >= 0 && o.RefinementQueue >= 1,
                "Llm:MaxToolRounds and Llm:RefinementQueue must be at least 1, Llm:HistoryMessages at least 0")
            .ValidateOnStart();
        services.AddHealthChecks().AddCheck<LlmHealthCheck>("llm");
        services.AddHostedService<LlmStartupNotice>();

        if (!llm.IsConfigured) return builder;

        // Our own client, not IHttpClientFactory's: the shared resilience handler's 10 s attempt timeout and
        // retries suit neither a model that takes a minute nor a failed call we fall back from. Timeouts are per call.
        services.AddKeyedSingleton(TelemetrySource, (_, _) => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = llm.Endpoint,
            Timeout = Timeout.InfiniteTimeSpan,
        });
        services.AddSingleton(sp => new OllamaApiClient(sp.GetRequiredKeyedService<HttpClient>(TelemetrySource), llm.Model));
        services.AddChatClient(sp => sp.GetRequiredService<OllamaApiClient>())
            .UseFunctionInvocation(configure: f =>
            {
                f.MaximumIterationsPerRequest = builder.Configuration.GetSection(LlmOptions.Section).GetValue(nameof(LlmOptions.MaxToolRounds), new LlmOptions().MaxToolRounds);
                f.AllowConcurrentInvocation = false;
                f.IncludeDetailedErrors = false;
            })
            .UseOpenTelemetry(sourceName: TelemetrySource)
            .UseLogging();

        services.AddSingleton<LlmPredictionRefiner>();
        services.AddSingleton<IPredictionRefiner>(sp => sp.GetRequiredService<LlmPredictionRefiner>());
        services.AddHostedService(sp => sp.GetRequiredService<LlmPredictionRefiner>());
        return builder;
    }
}
