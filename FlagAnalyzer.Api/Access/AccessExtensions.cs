using System.Threading.RateLimiting;
using FlagAnalyzer.Api.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.HttpOverrides;
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
        builder.Services.AddSingleton<AllowedHosts>();
        AddKnownProxies(builder);
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

    /// <summary>
    /// After routing and before the endpoints: the edge (<see cref="UseEdge"/>), then the rule table (the key check), then
    /// the per-key write limiter.
    /// </summary>
    public static IApplicationBuilder UseAccess(this IApplicationBuilder app)
    {
        UseEdge(app);
        app.UseMiddleware<AccessMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>
    /// What every request meets before any credential is looked at: the Host check, the client's address from a known
    /// proxy, security headers and CORS. A branch that authenticates itself (the event stream's URL credential) runs these
    /// same middlewares and nothing else.
    /// </summary>
    public static IApplicationBuilder UseEdge(IApplicationBuilder app)
    {
        AllowedHosts.UseHostCheck(app);
        if (app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value.ForwardedHeaders != ForwardedHeaders.None)
            app.UseForwardedHeaders();
        app.UseSecurityHeaders();
        app.UseCors();
        return app;
    }

    private static bool IsLimitedWrite(HttpContext http)
    {
        var method = http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)) return false;
        // an OFREP evaluation is a POST but a read: Evaluation:RequestsPerSecond limits it, not the write bucket
        return http.GetEndpoint() is RouteEndpoint e && EndpointRules.Find(method, e.RoutePattern.RawText) is { Live: false } rule
               && !ReferenceEquals(rule, EndpointRules.Evaluate);
    }

    /// <summary>
    /// <see cref="AccessOptions.KnownProxiesSection"/>: X-Forwarded-For (only that header: a forwarded Host or scheme
    /// would pass the Host check) is read from these peers alone, right to left until an address that is not one of them.
    /// </summary>
    private static void AddKnownProxies(IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(AccessOptions.KnownProxiesSection);
        var values = section.GetChildren().Select(c => c.Value).Append(section.Value)
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (values.Count == 0) return;
        var addresses = new List<System.Net.IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var value in values)
        {
            if (value.Contains('/') && System.Net.IPNetwork.TryParse(value, out var network)) networks.Add(network);
            else if (System.Net.IPAddress.TryParse(value, out var address)) addresses.Add(address);
            else throw new InvalidOperationException($"{AccessOptions.KnownProxiesSection}: '{value}' is neither an IP address nor a network such as 10.0.0.0/8.");
        }
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var a in addresses) o.KnownProxies.Add(a);
            foreach (var n in networks) o.KnownIPNetworks.Add(n);
            o.ForwardLimit = null;
            o.RequireHeaderSymmetry = false;
        });
    }
}
