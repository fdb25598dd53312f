using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FlagAnalyzer.Tests.Api.Cache;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port, nothing persisted. <see cref="Kill"/> and
/// <see cref="StartAgainAsync"/> simulate an outage and a recovery on the same port.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private Process? _process;

    private RedisServerProcess(int port) => Port = port;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServerProcess> StartAsync()
    {
        RequireInstalled();
        var redis = new RedisServerProcess(FreePort());
        await redis.StartAgainAsync();
        return redis;
    }

    /// <summary>Fails with the install command when redis-server is missing, rather than with a process error.</summary>
    public static void RequireInstalled()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "redis-server")));
        Assert.True(onPath, "redis-server is not on PATH; these tests need it: apt-get install -y redis-server");
    }

    public async Task StartAgainAsync()
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true) ready.TrySetResult();
        };
        p.EnableRaisingEvents = true;
        p.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"redis-server on port {Port} exited at start"));
        p.Start();
        p.BeginOutputReadLine();
        _process = p;
        await ready.Task.WaitAsync(StartTimeout);
    }

    public void Kill()
    {
        if (_process is not { HasExited: false } p) return;
        p.Kill();
        p.WaitForExit(StartTimeout);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
