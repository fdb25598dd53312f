namespace FlagAnalyzer.Api.Extensions;

public static class ServiceInfo
{
    /// <summary><c>GET /</c>: what this service is and where its parts are (the seed's "health check and API info").</summary>
    public static IEndpointRouteBuilder MapServiceInfo(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (IConfiguration config) => TypedResults.Ok(new
        {
            name = "FlagAnalyzer",
            description = "Feature flags with evidence: change log, impact metrics, anomaly detection, risk predictions and an assistant.",
            version = typeof(ServiceInfo).Assembly.GetName().Version?.ToString(),
            status = "ok",
            cache = string.IsNullOrWhiteSpace(config.GetConnectionString("cache")) ? "in-process" : "redis",
            llm = string.IsNullOrWhiteSpace(config.GetConnectionString("llm")) ? "none (statistical analyst only)" : "configured",
            links = new Dictionary<string, string>
            {
                ["flags"] = "/api/flags",
                ["changes"] = "/api/flags/changes",
                ["metrics"] = "/api/metrics",
                ["analyze"] = "/api/analyze",
                ["predictions"] = "/api/predictions",
                ["anomalies"] = "/api/anomalies",
                ["chat"] = "/api/chat",
                ["signalr"] = "/hubs/live",
                ["websocket"] = "/ws",
                ["ui"] = "/ui",
                ["health"] = "/health",
                ["openapi"] = "/openapi/v1.json",
            },
        })).WithTags("Service").WithName("ServiceInfo").WithSummary("What this service is and where its parts are").ExcludeFromDescription();
        return app;
    }
}
