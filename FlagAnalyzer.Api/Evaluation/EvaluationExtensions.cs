using System.Globalization;
using System.Threading.RateLimiting;
using FlagAnalyzer.Api.Evaluation.Exposures;
using FlagAnalyzer.Api.Evaluation.Flagd;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Api.Flags;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlagAnalyzer.Api.Evaluation;

public static class EvaluationExtensions
{
    /// <summary>Snapshot, evaluator, exposures, OFREP's CORS and rate limit. The snapshot is the flag cache <c>AddFlags</c> reads.</summary>
    public static IHostApplicationBuilder AddEvaluation(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("Evaluation");
        builder.Services.Configure<EvaluationOptions>(section);
        var options = section.Get<EvaluationOptions>() ?? new EvaluationOptions();

        builder.Services.AddSingleton<FlagSnapshotStore>();
        builder.Services.AddSingleton<IFlagSnapshot>(sp => sp.GetRequiredService<FlagSnapshotStore>());
        builder.Services.AddSingleton(sp => new FlagEvaluator(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ExposureCounter>();
        builder.Services.AddSingleton<FlagAnalyzer.Api.Common.IExposureCounts>(sp => sp.GetRequiredService<ExposureCounter>());
        builder.Services.TryAddSingleton<IOfrepAccess, ActorOfrepAccess>();
        builder.Services.AddSingleton<IFlagDefinitionCheck, CompilesCheck>();
        builder.Services.AddHostedService<SnapshotRefresher>();
        if (Storage.Db.ProviderOf(builder.Configuration.GetConnectionString("flagdb") ?? "") == Storage.DbProvider.Postgres)
        {
            // other replicas write the same database: its commit notification wakes the feed follower (FlagChangeListener)
            builder.Services.AddSingleton<FlagChangeListener>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<FlagChangeListener>());
            builder.Services.AddHealthChecks().AddCheck<FlagChangeListenerHealthCheck>("flag-notifications");
        }
        builder.Services.Configure<StreamOptions>(section.GetSection("Streams"));
        builder.Services.AddSingleton<StreamHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StreamHub>());
        builder.Services.AddSingleton<StreamsApi.StreamServices>();
        builder.Services.AddSingleton<ExposureFlusher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ExposureFlusher>());

        // the snapshot is the one flag cache: REST and telemetry read it too, and the writer applies its own commits to it
        builder.Services.AddSingleton<IFlagCache>(sp => sp.GetRequiredService<FlagSnapshotStore>());
        builder.Services.AddSingleton<IChangeFeedSubscriber, FeedAnnouncer>();

        if (options.CorsOrigins.Length > 0)
            builder.Services.AddCors(o => o.AddPolicy(OfrepApi.CorsPolicy, p => p.WithOrigins(options.CorsOrigins)
                .WithMethods("POST", "GET").WithHeaders("Content-Type", "Authorization", "X-API-Key", "If-None-Match").WithExposedHeaders("ETag")));
        if (options.RequestsPerSecond > 0)
            builder.Services.AddRateLimiter(o =>
            {
                o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                o.OnRejected = (ctx, _) =>
                {
                    var retry = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                    ctx.HttpContext.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
                    return ValueTask.CompletedTask;
                };
                o.AddPolicy(OfrepApi.RateLimitPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                    http.Request.Headers.Authorization.ToString() + http.Request.Headers["X-API-Key"] + http.Connection.RemoteIpAddress,
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RequestsPerSecond, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 }));
            });
        return builder;
    }

    public static WebApplication MapEvaluationApi(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EvaluationOptions>>().Value;
        // both act only on endpoints that ask for them (the OFREP group)
        if (options.CorsOrigins.Length > 0) app.UseCors();
        if (options.RequestsPerSecond > 0) app.UseRateLimiter();
        app.MapOfrepApi();
        app.MapStreamsApi();
        app.MapExposuresApi();
        app.MapFlagdApi();
        return app;
    }
}
