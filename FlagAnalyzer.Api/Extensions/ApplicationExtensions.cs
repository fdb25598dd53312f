using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Llm;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Ui;
using Microsoft.AspNetCore.Http.Json;

namespace FlagAnalyzer.Api.Extensions;

public static class ApplicationExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.Configure<JsonOptions>(o => Json.Configure(o.SerializerOptions));
        // binding failures reach BadRequestExceptionHandler, which names the field
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddOpenApi();
        if (builder is WebApplicationBuilder web)
            web.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = RequestLimits.MaxBodyBytes);

        builder.AddStorage();
        builder.AddLive();
        builder.AddFlags();
        builder.AddMetrics();
        builder.AddPredictions();
        builder.Services.AddSingleton<IOpenAnomalies, OpenAnomaliesFromStore>();
        builder.AddAnomalyDetection();
        builder.AddRollouts();
        builder.AddLlm();
        builder.AddAssistant();
        return builder;
    }

    public static WebApplication MapApplicationEndpoints(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseBodySizeLimit();

        app.MapOpenApi();
        app.MapServiceInfo();
        app.MapFlagsApi();
        app.MapMetricsApi();
        app.MapPredictionsApi();
        app.MapAnomaliesApi();
        app.MapAnalysisApi();
        app.MapRolloutsApi();
        app.MapAssistantApi();
        app.MapLiveEndpoints();
        app.MapWebUi();
        app.MapDefaultEndpoints();
        return app;
    }
}
