using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every FlagAnalyzer service shares: OpenTelemetry, health endpoints, service discovery and
/// resilient HTTP clients.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthPath = "/health";
    public const string AlivePath = "/alive";

    /// <summary>
    /// OFREP event streams: requests held open for hours; a trace per stream would be one Activity (and its tags) held in
    /// memory per connected SDK, and its duration says nothing.
    /// </summary>
    public const string EventStreamPath = "/ofrep/v1/events";

    /// <summary>
    /// OFREP evaluations: an SDK that evaluates per user request would make one root trace per evaluation, so an
    /// evaluation is traced only inside a caller's trace (a <c>traceparent</c> it sent): the trace of the request that
    /// needed the flag then shows it, and nothing else records it.
    /// </summary>
    public const string EvaluationPath = "/ofrep/v1/evaluate";

    /// <summary>Activity sources and meters of the app; services add theirs with <see cref="AddTelemetrySource"/>.</summary>
    private static readonly HashSet<string> TelemetrySources = ["FlagAnalyzer.*"];

    public static void AddTelemetrySource(string name) => TelemetrySources.Add(name);

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter([.. TelemetrySources]))
            .WithTracing(tracing => tracing
                .AddSource([.. TelemetrySources])
                .AddAspNetCoreInstrumentation(o => o.Filter = IsTraced)
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// Which requests the server traces: not health probes (every few seconds, they would drown real traces), not event
    /// streams, and evaluations only inside a caller's trace (<see cref="EvaluationPath"/>).
    /// </summary>
    public static bool IsTraced(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments(HealthPath) || path.StartsWithSegments(AlivePath) || path.StartsWithSegments(EventStreamPath)) return false;
        return !path.StartsWithSegments(EvaluationPath)
               || !string.IsNullOrEmpty(context.Features.Get<IHttpActivityFeature>()?.Activity.ParentId);
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// <c>/alive</c>: the process answers. <c>/health</c>: every check, with each check's status and, for an
    /// authenticated caller, its description as JSON, so "degraded: no Redis" is visible to a person and to the AppHost.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = WriteHealthJson });
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }

    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        // descriptions name files, hosts and versions: only for an authenticated caller; states are for anyone
        var detailed = context.User.Identity?.IsAuthenticated == true;
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = detailed || e.Key == "auth" ? e.Value.Description : null }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
