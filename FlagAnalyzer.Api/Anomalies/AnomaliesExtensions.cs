using FlagAnalyzer.Api.Metrics;

namespace FlagAnalyzer.Api.Anomalies;

public static class AnomaliesExtensions
{
    /// <summary>Detection on every metrics write (with its in-memory window cache) and the publishing of what it finds.</summary>
    public static IHostApplicationBuilder AddAnomalyDetection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<FlagWindowCache>();
        builder.Services.AddSingleton<StatisticalAnomalyMonitor>();
        builder.Services.AddSingleton<IAnomalyMonitor>(sp => sp.GetRequiredService<StatisticalAnomalyMonitor>());
        builder.Services.AddSingleton<AnomalyEvents>();
        builder.Services.AddSingleton<AnomalyService>();
        builder.Services.AddSingleton<IMetricsDetection, MetricsDetection>();
        return builder;
    }
}
