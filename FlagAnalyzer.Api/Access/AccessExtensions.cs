using System.Threading.RateLimiting;
using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlagAnalyzer.Api.Access;

public static class AccessExtensions
{
    /// <summary>API keys, the ApiKey scheme, CORS from <c>Cors:AllowedOrigins</c>, and the per-key write limiter.</summary>
    public static IHostApplicationBuilder AddAccess(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(AccessOptions.Section);
        builder.Services.Configure<AccessOptions>(section);
        builder.Services.AddSingleton<IApiKeySource, DatabaseApiKeySource>();
        builder.Services.AddSingleton(sp => new ApiKeyVerifier(sp.GetRequiredService<IApiKeySource>(), sp.GetRequiredService<IOptions<AccessOptions>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ApiKeyVerifier>>(),
            // the Redis the flag cache connects to, when there is one (revocations ride on its pub/sub)
            sp.GetService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<AccessState>();
        builder.Services.AddSingleton<FailedAttempts>();
        builder.Services.AddSingleton<AllowedOrigins>();
        builder.Services.AddHostedService<AccessBootstrap>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddHealthChecks().AddCheck<AccessHealthCheck>("auth");

        var origins = new AllowedOrigins(builder.Configuration).Origins.ToArray();
        // no origin listed: no CORS headers at all, so browsers refuse every cross-site read
        builder.Services.AddCors(o => o.AddDefaultPolicy(p => p.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod().AllowCredentials()
            .WithExposedHeaders("ETag", "Location", "Retry-After")));

        var options = section.Get<AccessOptions>() ?? new AccessOptions();
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // per key, on writes only; reads, live transports and key-less requests are not limited here
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                IsLimitedWrite(http) && http.GetActor()?.KeyId is { } keyId
                    ? RateLimitPartition.GetTokenBucketLimiter(keyId, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = Math.Max(1, options.WriteBurst),
                        TokensPerPeriod = (int)Math.Clamp(options.WritesPerSecond * options.WriteRefillPeriod.TotalSeconds, 1, int.MaxValue),
                        ReplenishmentPeriod = options.WriteRefillPeriod,
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    })
                    : RateLimitPartition.GetNoLimiter(""));
            o.OnRejected = async (ctx, ct) =>
            {
                var wait = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                ctx.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await AccessMiddleware.Problem(ctx.HttpContext, StatusCodes.Status429TooManyRequests, "Too many writes",
                    $"This key may make {options.WritesPerSecond} writes per second (bursts of {options.WriteBurst}); retry after the Retry-After seconds.");
            };
        });
        return builder;
    }

    /// <summary>After routing and before the endpoints: headers, CORS, the rule table, then the per-key write limiter.</summary>
    public static IApplicationBuilder UseAccess(this IApplicationBuilder app)
    {
        app.UseSecurityHeaders();
        app.UseCors();
        app.UseMiddleware<AccessMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    private static bool IsLimitedWrite(HttpContext http)
    {
        var method = http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)) return false;
        return http.GetEndpoint() is RouteEndpoint e && EndpointRules.Find(method, e.RoutePattern.RawText) is { Live: false };
    }
}
