using System.Diagnostics;

namespace FlagAnalyzer.Benchmarks.Cache;

/// <summary>A child process whose readiness is a line it prints; killed with its whole tree on dispose.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(ProcessStartInfo start, string readyMarker)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains(readyMarker, StringComparison.Ordinal) == true) _ready.TrySetResult(e.Data);
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"{start.FileName} exited before printing '{readyMarker}'"));
    }

    /// <summary>Starts it and returns once it printed <paramref name="readyMarker"/> (the line is in <see cref="ReadyLine"/>).</summary>
    public static async Task<ChildProcess> StartAsync(ProcessStartInfo start, string readyMarker, TimeSpan timeout)
    {
        var child = new ChildProcess(start, readyMarker);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        try
        {
            child.ReadyLine = await child._ready.Task.WaitAsync(timeout);
        }
        catch
        {
            child.Dispose();
            throw;
        }
        return child;
    }

    public string ReadyLine { get; private set; } = "";

    public int Id => _process.Id;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
