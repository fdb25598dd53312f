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
        log.LogInformation("{Urls}", UiUrls(api, e.Services.GetRequiredService<DistributedApplicationModel>()));
        return Task.CompletedTask;
    }

    /// <summary>Where to open the UI (the Vite dev server when it runs, and the API's built /ui), and how to stop.</summary>
    public static string UiUrls(ProjectResource api, DistributedApplicationModel model)
    {
        var vite = model.Resources.OfType<ExecutableResource>().FirstOrDefault(r => r.Name == "web") is { } web
            && web.GetEndpoint("http") is { IsAllocated: true } ep ? $"{ep.Url}/ui/ (Vite, live reload) or " : "";
        return $"UI: {vite}{api.GetEndpoint("http").Url}/ui/ (built by the API). Stop the stack with Ctrl+C in this terminal.";
    }
}
