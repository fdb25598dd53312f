namespace FlagAnalyzer.Api.Metrics;

public static class MetricsExtensions
{
    /// <summary>The metrics write service; detection on write comes from <see cref="IMetricsDetection"/> (Anomalies registers it).</summary>
    public static IHostApplicationBuilder AddMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MetricsService>();
        return builder;
    }
}
