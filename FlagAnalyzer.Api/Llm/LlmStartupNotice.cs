namespace FlagAnalyzer.Api.Llm;

/// <summary>Says once, at start, which analyst this instance is: the model's, or statistics only (and why).</summary>
internal sealed class LlmStartupNotice(LlmConnection llm, ILogger<LlmStartupNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        if (llm.IsConfigured)
            logger.LogInformation("Language model {Model} at {Endpoint}: predictions are refined and the assistant uses tools", llm.Model, llm.Endpoint);
        else if (llm.Problem is not null)
            logger.LogWarning("No language model ({Problem}): statistical analyst only", llm.Problem);
        else
            logger.LogInformation("No language model configured (ConnectionStrings:llm): statistical analyst only");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
