using System.Diagnostics;

namespace FlagAnalyzer.AppHost;

/// <summary>Whether a container engine answers right now (not merely whether its CLI is installed).</summary>
internal static class ContainerRuntime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The runtime Aspire would use (<c>ASPIRE_CONTAINER_RUNTIME</c>, else docker then podman) if its engine answers; otherwise null.</summary>
    public static string? Detect(string? preferred)
    {
        string[] candidates = string.IsNullOrWhiteSpace(preferred) ? ["docker", "podman"] : [preferred];
        return candidates.FirstOrDefault(Answers);
    }

    private static bool Answers(string cli)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(cli, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (p is null) return false;
            // drain both pipes so a chatty CLI cannot block on a full buffer
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (p.WaitForExit(Timeout)) return p.ExitCode == 0;
            p.Kill(entireProcessTree: true);
            return false;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false; // CLI not installed
        }
    }
}
