using System.Data.Common;

namespace FlagAnalyzer.Api.Llm;

/// <summary>
/// The language model named by <c>ConnectionStrings:llm</c> (<c>Endpoint=http://host:11434;Model=llama3.3</c>).
/// Absent means "statistical analyst only"; a malformed string is treated the same way and says why.
/// </summary>
public sealed record LlmConnection(Uri? Endpoint, string Model, string? Problem)
{
    public const string DefaultModel = "llama3.3";

    public bool IsConfigured => Endpoint is not null;

    public static readonly LlmConnection None = new(null, DefaultModel, null);

    public static LlmConnection Parse(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) return None;
        var b = new DbConnectionStringBuilder();
        try
        {
            b.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return None with { Problem = "connection string 'llm' is not of the form Endpoint=…;Model=…" };
        }
        var model = b.TryGetValue("Model", out var m) && m is string ms && ms.Trim().Length > 0 ? ms.Trim() : DefaultModel;
        if (!b.TryGetValue("Endpoint", out var e) || e is not string es
            || !Uri.TryCreate(es.Trim(), UriKind.Absolute, out var endpoint)
            || endpoint.Scheme is not ("http" or "https"))
            return None with { Model = model, Problem = "connection string 'llm' has no valid http(s) Endpoint" };
        return new LlmConnection(endpoint, model, null);
    }

    /// <summary>The <c>source</c> of anything the model produced.</summary>
    public string Source => Predictions.PredictionSources.Llm(Model);
}

/// <summary>Timeouts and limits of model calls (configuration section <c>Llm</c>).</summary>
public sealed class LlmOptions
{
    public const string Section = "Llm";

    /// <summary>One chat answer, tool calls included.</summary>
    public TimeSpan ChatTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One prediction refinement.</summary>
    public TimeSpan PredictionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The health check's <c>/api/tags</c> probe.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Model round trips per chat answer (each may call tools).</summary>
    public int MaxToolRounds { get; set; } = 5;

    /// <summary>Earlier messages of the session sent with each question.</summary>
    public int HistoryMessages { get; set; } = 20;

    /// <summary>Predictions waiting for refinement; beyond this new ones keep their statistical verdict.</summary>
    public int RefinementQueue { get; set; } = 100;
}
