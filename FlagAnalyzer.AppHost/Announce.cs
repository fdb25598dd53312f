using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.AppHost;

internal static class Announce
{
    /// <summary>One line when the API passes its health check, with the address to use (also what the start-up benchmark waits for).</summary>
    public static Task ApiHealthy(ProjectResource api, ResourceReadyEvent e, CancellationToken ct)
    {
        var log = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FlagAnalyzer.AppHost");
        log.LogInformation("api is healthy at {Url}", api.GetEndpoint("http").Url);
        // where the key is, never the key itself
        log.LogInformation("Sign in to the UI with the admin key: the 'admin-key' parameter in the dashboard (Parameters), " +
            "kept in the AppHost's user secrets (dotnet user-secrets list --project FlagAnalyzer.AppHost, Parameters:admin-key).");
        return Task.CompletedTask;
    }
}
