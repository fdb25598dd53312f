using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FlagAnalyzer.Benchmarks.Common;

/// <summary>
/// The real API as a child process on 127.0.0.1 with its own temp SQLite file, so measurements go
/// through Kestrel and the full middleware pipeline. Disposing stops it and deletes the file.
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dataDir;

    private ApiProcess(Process process, Uri baseAddress, string dataDir)
    {
        _process = process;
        BaseAddress = baseAddress;
        _dataDir = dataDir;
    }

    public Uri BaseAddress { get; }

    /// <summary>The bootstrap admin key every benchmarked API starts with.</summary>
    public const string AdminKey = "benchmark-bootstrap-admin-key-0123456789abcdef";

    /// <summary>Settings that make the API accept <see cref="AdminKey"/>; every limit stays as shipped.</summary>
    public static readonly IReadOnlyDictionary<string, string> AccessSettings = new Dictionary<string, string>
    {
        ["Auth__BootstrapAdminKey"] = AdminKey,
    };

    /// <summary>
    /// <paramref name="settings"/> plus a lifted per-key write limit (<c>Auth:WritesPerSecond</c>, shipped 500/s in bursts
    /// of 1,000 <c>Auth:WriteBurst</c>), for a scenario whose load is writes from one key far above it: it measures the
    /// store or the intake behind the limiter, which rightly answers such load with 429. A scenario that calls this says
    /// why at the call. OFREP evaluations are reads and never counted by that limiter (issue 23): they need no lift.
    /// </summary>
    public static Dictionary<string, string> WithWriteLimitLifted(IDictionary<string, string>? settings = null) =>
        new(settings ?? new Dictionary<string, string>())
        {
            ["Auth__WriteBurst"] = "1000000",
            ["Auth__WritesPerSecond"] = "1000000",
        };

    /// <summary>A client for this API that sends the admin key.</summary>
    public HttpClient CreateClient() => Authorize(new HttpClient { BaseAddress = BaseAddress });

    public static HttpClient Authorize(HttpClient client)
    {
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }
    public int ProcessId => _process.Id;

    /// <param name="apiDll">Another build of the API to run (an A/B in one session); null: this checkout's.</param>
    public static async Task<ApiProcess> StartAsync(IDictionary<string, string>? settings = null, string? apiDll = null)
    {
        var dll = apiDll ?? FindApiDll();
        var port = FreePort();
        var dataDir = Directory.CreateTempSubdirectory("flaganalyzer-bench-").FullName;
        var psi = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["ConnectionStrings__flagdb"] = $"Data Source={Path.Combine(dataDir, "flags.db")}";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in AccessSettings) psi.Environment[k] = v;
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[api] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var api = new ApiProcess(process, new Uri($"http://127.0.0.1:{port}"), dataDir);
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"The API exited with code {process.ExitCode} before answering.");
            try
            {
                if ((await http.GetAsync("/alive")).StatusCode == HttpStatusCode.OK) return api;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100); // no readiness signal from a child process other than polling its endpoint
        }
        await api.DisposeAsync();
        throw new TimeoutException("The API did not answer /alive within 60 s.");
    }

    /// <summary>Resident memory of the API process, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return -1;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>The API's build output: next to this assembly (project reference) or under the repository.</summary>
    private static string FindApiDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var local = Path.Combine(dir.FullName, "FlagAnalyzer.Api.dll");
            if (File.Exists(local) && File.Exists(Path.Combine(dir.FullName, "FlagAnalyzer.Api.runtimeconfig.json"))) return local;
            if (File.Exists(Path.Combine(dir.FullName, "FlagAnalyzer.sln")))
            {
                foreach (var config in new[] { "Release", "Debug" })
                {
                    var built = Path.Combine(dir.FullName, "FlagAnalyzer.Api", "bin", config, "net10.0", "FlagAnalyzer.Api.dll");
                    if (File.Exists(built)) return built;
                }
            }
        }
        throw new FileNotFoundException("FlagAnalyzer.Api.dll not found; build the solution first (dotnet build -c Release).");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
        }
    }
}
