using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// The real API as a child process (<c>dotnet FlagAnalyzer.Api.dll</c>, as a deployment runs it) on a free loopback
/// port, with the test bootstrap admin key and the given store and cache. Ready once its host logs that it started
/// (after the migrations), with the address it logged. <see cref="Kill"/> is a crash; disposing stops it.
/// </summary>
public sealed partial class ApiReplica : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ApiReplica(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <param name="settings">More configuration, as environment variables (<c>Evaluation__FeedPollMilliseconds</c>).</param>
    public static async Task<ApiReplica> StartAsync(string name, string flagdb, string cache, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = ApiDll();
        var psi = new ProcessStartInfo("dotnet", [dll, "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["ConnectionStrings__flagdb"] = flagdb;
        psi.Environment["ConnectionStrings__cache"] = cache;
        psi.Environment["Auth__BootstrapAdminKey"] = TestKeys.Admin;
        // the load is the test's own: no write rate limit
        psi.Environment["Auth__WriteBurst"] = "1000000";
        psi.Environment["Auth__WritesPerSecond"] = "1000000";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        psi.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        psi.Environment["Logging__Console__FormatterName"] = "simple";
        psi.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) psi.Environment[key] = value;

        var replica = new ApiReplica(new Process { StartInfo = psi, EnableRaisingEvents = true }, name);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (replica._output) replica._output.AppendLine(line);
            // Kestrel was given port 0: the host logs the port it got, then that it started (hosted services, migrations done)
            if (ListeningOn().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
            if (line.Contains("Application started", StringComparison.Ordinal)) started.TrySetResult();
        }
        replica._process.OutputDataReceived += (_, e) => OnLine(e.Data);
        replica._process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        replica._process.Exited += (_, _) =>
        {
            var error = new InvalidOperationException($"API replica {name} exited at start:\n{replica.Output}");
            listening.TrySetException(error);
            started.TrySetException(error);
        };
        replica._process.Start();
        replica._process.BeginOutputReadLine();
        replica._process.BeginErrorReadLine();
        try
        {
            replica.BaseAddress = await listening.Task.WaitAsync(StartTimeout);
            await started.Task.WaitAsync(StartTimeout);
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client that sends the admin key.</summary>
    public HttpClient Client() => new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) }.WithAdminKey();

    /// <summary>Kills the process as a crash would (no graceful shutdown) and waits until it is gone.</summary>
    public async Task Kill()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException) { } // never started
        _process.Dispose();
    }

    /// <summary>The API's own build output (its content root has the UI and settings), in the configuration of this build.</summary>
    private static string ApiDll()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(Web.RepoPaths.Root, "FlagAnalyzer.Api", "bin", configuration, "net10.0", "FlagAnalyzer.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first");
        return dll;
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
