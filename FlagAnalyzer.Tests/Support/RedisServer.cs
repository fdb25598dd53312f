using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// A real, throwaway <c>redis-server</c> on a free loopback port, nothing persisted. <see cref="KillAsync"/>
/// and <see cref="StartAgainAsync"/> simulate a crash and a recovery on the same port; <see cref="Stall"/>
/// freezes it (SIGSTOP: connections stay open, nothing answers — a hung server or a network blackhole).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const int SigStop = 19;
    private const int SigCont = 18;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        RequireInstalled();
        for (var attempt = 1; ; attempt++)
        {
            var redis = new RedisServer(NextPort());
            try
            {
                await redis.StartAgainAsync();
                return redis;
            }
            catch (InvalidOperationException e) when (attempt < 10 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                await redis.DisposeAsync(); // someone else's port: take the next one
            }
        }
    }

    /// <summary>Fails with the install command when redis-server is missing, rather than with a process error.</summary>
    public static void RequireInstalled()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "redis-server")));
        Assert.True(onPath, "redis-server is not on PATH; these tests need a real Redis: apt-get install -y redis-server");
    }

    /// <summary>Starts the server (again) on its port; returns once it says it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new List<string>();
        var p = new Process
        {
            StartInfo = new ProcessStartInfo("redis-server",
                ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            },
        };
        // redis-server announces readiness on stdout: that line is the signal to wait for
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.Add(e.Data);
            if (e.Data.Contains("Ready to accept connections", StringComparison.Ordinal)) ready.TrySetResult();
        };
        p.EnableRaisingEvents = true;
        p.Exited += (_, _) =>
        {
            lock (output) ready.TrySetException(new InvalidOperationException($"redis-server on port {Port} exited at start: {string.Join('\n', output)}"));
        };
        p.Start();
        p.BeginOutputReadLine();
        _process = p;
        try
        {
            await ready.Task.WaitAsync(Timeout);
        }
        catch
        {
            await KillAsync();
            throw;
        }
    }

    /// <summary>Kills the server (as a crash would) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } p) return;
        p.Kill();
        await p.WaitForExitAsync().WaitAsync(Timeout);
    }

    /// <summary>
    /// SIGSTOPs the server until the returned handle is disposed (SIGCONT), and at the latest after
    /// <paramref name="atMost"/>, so a failing test never leaves a frozen server behind.
    /// </summary>
    public Stalled Stall(TimeSpan atMost)
    {
        if (_process is not { HasExited: false } p) throw new InvalidOperationException("redis-server is not running");
        Assert.Equal(0, kill(p.Id, SigStop));
        return new Stalled(p.Id, atMost);
    }

    public sealed class Stalled : IDisposable
    {
        private readonly int _pid;
        private readonly Timer _deadline;
        private int _resumed;

        internal Stalled(int pid, TimeSpan atMost)
        {
            _pid = pid;
            _deadline = new Timer(_ => Resume(timedOut: true), null, atMost, System.Threading.Timeout.InfiniteTimeSpan);
        }

        /// <summary>True when the deadline, not the test, resumed the server.</summary>
        public bool TimedOut { get; private set; }

        public void Dispose() => Resume(timedOut: false);

        private void Resume(bool timedOut)
        {
            if (Interlocked.Exchange(ref _resumed, 1) == 1) return;
            TimedOut = timedOut;
            _deadline.Dispose();
            kill(_pid, SigCont);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p) kill(p.Id, SigCont);
        await KillAsync();
        _process?.Dispose();
    }

    /// <summary>
    /// Ports for test servers come from below the kernel's ephemeral range (32768–60999 here), so no socket that
    /// asks for "any free port" (Kestrel on port 0, every outgoing connection) can take one between a crash and
    /// the restart on the same port. Each test process starts at its own offset; the counter keeps this process's
    /// servers apart, and a port another process holds is skipped at start.
    /// </summary>
    private static int NextPort()
    {
        const int first = 20_000, size = 12_000;
        var n = Interlocked.Increment(ref _portCounter);
        return first + (int)((Environment.ProcessId * 97L + n) % size);
    }

    private static int _portCounter;
}
