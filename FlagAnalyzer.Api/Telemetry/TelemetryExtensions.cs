using Microsoft.Extensions.Options;

namespace FlagAnalyzer.Api.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>OTLP trace intake: the aggregator, the gate that sheds load, and the flusher that stores samples.</summary>
    public static IHostApplicationBuilder AddTelemetryIntake(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.Section));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            return new ImpactAggregator(o.SampleInterval, o.MaxBuckets, o.MaxBucketsPerFlag);
        });
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            return new IngestGate(o.MaxConcurrentExports, o.MaxQueuedExports);
        });
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            return new EvaluationJoin(o.LogJoinWindow, o.MaxPendingJoins, sp.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddSingleton<TraceIntake>();
        builder.Services.AddSingleton<LogIntake>();
        builder.Services.AddSingleton(new MetricsIntake.ServingSince(DateTimeOffset.UtcNow));
        builder.Services.AddSingleton<MetricsIntake>();
        builder.Services.AddSingleton<IImpactSampleWriter, MetricsImpactWriter>();
        builder.Services.AddSingleton<ImpactFlusher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ImpactFlusher>());
        return builder;
    }
}
