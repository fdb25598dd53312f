using System.Diagnostics;

namespace FlagAnalyzer.Benchmarks.Live;

/// <summary>The API built next to this benchmark, started as a child process on a dynamic loopback port with a temp database.</summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private ApiProcess(Process process, string dir, Uri baseUri)
    {
        _process = process;
        _dir = dir;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }
    public int Pid => _process.Id;

    public static async Task<ApiProcess> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("flaganalyzer-bench-").FullName;
        var exe = Path.Combine(AppContext.BaseDirectory, "FlagAnalyzer.Api.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { exe, "--urls", "http://127.0.0.1:0", "--environment", "Production",
                     $"--ConnectionStrings:flagdb=Data Source={Path.Combine(dir, "flags.db")}", "--Logging:LogLevel:Default=Warning",
                     "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            const string marker = "Now listening on: ";
            if (e.Data?.IndexOf(marker, StringComparison.Ordinal) is >= 0 and var i) listening.TrySetResult(new Uri(e.Data[(i + marker.Length)..].Trim()));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[api] {e.Data}"); };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the API exited before listening"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var uri = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new ApiProcess(process, dir, uri);
    }

    /// <summary>The API's resident set (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
