using FlagAnalyzer.Api.Access;
using FlagAnalyzer.Api.Anomalies;
using FlagAnalyzer.Api.Assistant;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.ChangeRequests;
using FlagAnalyzer.Api.Environments;
using FlagAnalyzer.Api.Evaluation;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Llm;
using FlagAnalyzer.Api.Metrics;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Rollouts;
using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Api.Telemetry;
using FlagAnalyzer.Api.Ui;
using FlagAnalyzer.Api.Webhooks;
using Microsoft.AspNetCore.Http.Json;

namespace FlagAnalyzer.Api.Extensions;

public static class ApplicationExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.Configure<JsonOptions>(o => Json.Configure(o.SerializerOptions).Converters.Add(Json.TextCheckedElements));
        // binding failures reach BadRequestExceptionHandler, which names the field
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<OpenApiWireShapes>());
        if (builder is WebApplicationBuilder web)
        {
            builder.Services.AddSingleton<StreamConnections>();
            web.WebHost.ConfigureKestrel(k =>
            {
                k.Limits.MaxRequestBodySize = RequestLimits.MaxBodyBytes;
                // an SDK event stream opened on a fresh connection is served below the HTTP layer (issue 28's memory bound)
                StreamConnections.AddTo(k);
            });
        }

        builder.AddStorage();
        builder.AddLive();
        builder.AddEnvironments();
        builder.AddFlags();
        builder.AddChangeRequests();
        builder.AddAccess();
        builder.AddMetrics();
        builder.AddEvaluation();
        builder.AddPredictions();
        builder.Services.AddSingleton<IOpenAnomalies, OpenAnomaliesFromStore>();
        builder.AddAnomalyDetection();
        builder.AddTelemetryIntake();
        builder.AddRollouts();
        builder.AddLlm();
        builder.AddAssistant();
        builder.AddWebhooks();
        return builder;
    }

    public static WebApplication MapApplicationEndpoints(this WebApplication app)
    {
        // the event stream's lean branch first (an idle stream holds a frame in every middleware before it); then
        // authentication and authorization where WebApplication would have put them, ahead of the rest
        app.UseEventStreams();
        // each request's end marked, so a stream that follows on its keep-alive connection is served below HTTP as well
        StreamConnections.UseKeepAliveHandoff(app);
        // OFREP evaluations on a lean branch too: the middlewares that act on them, not the ones that only pass them on
        app.UseOfrepEvaluation();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseBodySizeLimit();
        app.UseAccess();
        app.UseFlagScope();
        app.UseChangedByCheck();

        app.MapOpenApi();
        app.MapServiceInfo();
        app.MapAccessApi();
        app.MapEnvironmentsApi();
        app.MapFlagsApi();
        app.MapFlagEnvironmentsApi();
        app.MapChangeRequestsApi();
        app.MapEvaluationApi();
        app.MapMetricsApi();
        app.MapTelemetryApi();
        app.MapPredictionsApi();
        app.MapAnomaliesApi();
        app.MapAnalysisApi();
        app.MapRolloutsApi();
        app.MapAssistantApi();
        app.MapWebhooksApi();
        app.MapLiveEndpoints();
        app.MapWebUi();
        app.MapDefaultEndpoints();
        return app;
    }
}
