using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// Records the path of every request that asked ASP.NET Core's authentication service for a handler, for tests that prove
/// a path is served without it (the lean OFREP and event-stream branches). <c>new ApiFactory { ConfigureServices = r.AddTo }</c>.
/// </summary>
public sealed class AuthenticationRecording
{
    public ConcurrentQueue<string> Paths { get; } = new();

    public void AddTo(IServiceCollection services) => services.AddScoped<IAuthenticationHandlerProvider>(sp =>
        new RecordingHandlers(new AuthenticationHandlerProvider(sp.GetRequiredService<IAuthenticationSchemeProvider>()), Paths));

    private sealed class RecordingHandlers(IAuthenticationHandlerProvider inner, ConcurrentQueue<string> paths) : IAuthenticationHandlerProvider
    {
        public Task<IAuthenticationHandler?> GetHandlerAsync(HttpContext context, string authenticationScheme)
        {
            paths.Enqueue(context.Request.Path.Value ?? "");
            return inner.GetHandlerAsync(context, authenticationScheme);
        }
    }
}
