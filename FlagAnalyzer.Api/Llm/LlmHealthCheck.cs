using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OllamaSharp;

namespace FlagAnalyzer.Api.Llm;

/// <summary>
/// <c>llm</c>: Healthy when Ollama's <c>/api/tags</c> answers and lists the model; Degraded otherwise, because
/// the service still works as a statistical analyst without it.
/// </summary>
internal sealed class LlmHealthCheck(LlmConnection llm, IOptions<LlmOptions> options, IServiceProvider services) : IHealthCheck
{
    public const string NotConfigured = "no language model configured: statistical analyst only";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (!llm.IsConfigured)
            return HealthCheckResult.Degraded(llm.Problem is null ? NotConfigured : $"{NotConfigured} ({llm.Problem})");

        var ollama = services.GetRequiredService<OllamaApiClient>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.Value.HealthTimeout);
        try
        {
            var models = await ollama.ListLocalModelsAsync(cts.Token);
            var names = models.Select(m => m.Name).ToList();
            return names.Any(n => SameModel(n, llm.Model))
                ? HealthCheckResult.Healthy($"Ollama at {llm.Endpoint} serves {llm.Model}")
                : HealthCheckResult.Degraded($"Ollama at {llm.Endpoint} answers but has not pulled {llm.Model}: statistical analyst only");
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            return HealthCheckResult.Degraded($"Ollama at {llm.Endpoint} is unreachable: statistical analyst only", ex);
        }
    }

    /// <summary>Ollama lists <c>llama3.3:latest</c> for a model pulled as <c>llama3.3</c>.</summary>
    internal static bool SameModel(string listed, string configured) =>
        string.Equals(listed, configured, StringComparison.OrdinalIgnoreCase)
        || (!configured.Contains(':') && string.Equals(listed, configured + ":latest", StringComparison.OrdinalIgnoreCase));
}
