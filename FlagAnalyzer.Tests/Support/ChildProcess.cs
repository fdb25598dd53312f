using System.Diagnostics;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// The programs the tests start as child processes (npm, node, a shell running a README's curl): output captured,
/// a time limit, and the whole process tree killed when the limit passes.
/// </summary>
public static class ChildProcess
{
    /// <summary>How it ended: <see cref="ExitCode"/> is -1 when it was killed at its time limit (then StdErr says so first).</summary>
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        /// <summary>Both streams, for a failure message.</summary>
        public string Output => $"{StdOut}\n{StdErr}".Trim();
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, string folder, TimeSpan limit,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // plain text for assertions and failure messages
        psi.Environment["NO_COLOR"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new Result(-1, await stdout, $"timed out after {limit}\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static readonly HashSet<string> Installed = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>npm ci</c> from <paramref name="folder"/>'s committed lockfile, at most once per folder per test run, and not
    /// at all when node_modules was installed from the current lockfile (npm writes node_modules/.package-lock.json last).
    /// </summary>
    public static async Task NpmCiOnceAsync(string folder)
    {
        await InstallGate.WaitAsync();
        try
        {
            if (Installed.Contains(folder)) return;
            // the SQLite and the PostgreSQL test assemblies run at the same time on these folders: one npm ci at a time
            // across processes (a file lock), and none once node_modules matches the lockfile, since npm ci would
            // delete node_modules under the other process's running node
            await using var crossProcess = await LockFileAsync(Path.Combine(Path.GetTempPath(), "flaganalyzer-npm-ci.lock"));
            var installedLock = Path.Combine(folder, "node_modules", ".package-lock.json");
            var fresh = File.Exists(installedLock)
                && File.GetLastWriteTimeUtc(installedLock) >= File.GetLastWriteTimeUtc(Path.Combine(folder, "package-lock.json"));
            if (!fresh)
            {
                var r = await RunAsync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(3));
                Assert.True(r.ExitCode == 0, $"npm ci in {folder} exited {r.ExitCode}:\n{r.Output}");
            }
            Installed.Add(folder);
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task<FileStream> LockFileAsync(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // another process holds it; a file lock has no wait handle to await
            }
        }
    }
}
