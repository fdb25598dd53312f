using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.AppHost;

internal static class Announce
{
    /// <summary>One line when the API passes its health check, with the address to use (also what the start-up benchmark waits for).</summary>
    public static Task ApiHealthy(ProjectResource api, ResourceReadyEvent e, CancellationToken ct)
    {
        e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FlagAnalyzer.AppHost")
            .LogInformation("api is healthy at {Url}", api.GetEndpoint("http").Url);
        return Task.CompletedTask;
    }
}
