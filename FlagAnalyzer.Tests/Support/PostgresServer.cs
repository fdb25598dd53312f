using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// A real, throwaway PostgreSQL cluster for this test process: Debian's server binaries, <c>initdb</c> into a temp
/// folder (trust authentication, UTF8, fsync off), started with <c>pg_ctl</c> on a free loopback port with its unix
/// socket in that folder. One per process (<see cref="Shared"/>), stopped and deleted when the process exits; a
/// cluster left behind by a process that no longer runs (a crash, a killed run) is stopped and deleted by the next.
/// <see cref="CreateDatabaseAsync"/> gives each caller a fresh database. initdb and postgres refuse to run as root,
/// so as root every server command runs as the <c>postgres</c> user (which Debian's package creates).
/// </summary>
public sealed partial class PostgresServer
{
    /// <summary>What to say when the binaries are missing: the package that brings them.</summary>
    public const string MissingMessage =
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin or pg_config --bindir; " +
        "these tests need a real PostgreSQL: apt-get install -y postgresql";

    private static readonly string Root = Path.Combine(Path.GetTempPath(), "flaganalyzer-postgres");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly Lazy<Task<PostgresServer>> Instance = new(StartAsync);

    private readonly string _folder;

    private PostgresServer(string binDirectory, string folder, int port)
    {
        BinDirectory = binDirectory;
        _folder = folder;
        Port = port;
    }

    /// <summary>The folder holding initdb, pg_ctl and postgres, or null when PostgreSQL's server is not installed.</summary>
    public static string? FindBinaries()
    {
        static bool Complete(string dir) => new[] { "initdb", "pg_ctl", "postgres" }.All(p => File.Exists(Path.Combine(dir, p)));

        // Debian installs each major version side by side: take the newest
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1, Bin: Path.Combine(d, "bin")))
                .Where(x => x.Version >= 0 && Complete(x.Bin))
                .OrderByDescending(x => x.Version)
                .Select(x => x.Bin)
                .FirstOrDefault()
            : null;
        if (debian is not null) return debian;

        var bindir = Run("pg_config", ["--bindir"]);
        return bindir is { Code: 0 } && Complete(bindir.Value.Output.Trim()) ? bindir.Value.Output.Trim() : null;
    }

    public static bool Installed => FindBinaries() is not null;


    /// <summary>This process's cluster, started on first use.</summary>
    public static Task<PostgresServer> Shared() => Instance.Value;

    public string BinDirectory { get; }

    public int Port { get; }

    /// <summary>Where the cluster's unix socket lives (tools such as psql and pg_dump connect through it).</summary>
    public string SocketDirectory => Path.Combine(_folder, "socket");

    private string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>The Npgsql connection string of a database of this cluster, over TCP as the API would connect.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Database = database, Username = "postgres" }.ConnectionString;

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>The synchronous form, for constructors (the test factories').</summary>
    public string CreateDatabase(string prefix = "test") => CreateDatabaseAsync(prefix).GetAwaiter().GetResult();

    private static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(MissingMessage);
        RemoveLeftovers();
        var folder = Path.Combine(Root, $"run-{Environment.ProcessId}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        // the postgres user (when we are root) creates data/ and socket/ in here and must reach it
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101); // 755
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111); // 777
        }

        var initdb = await RunAsServerUserAsync(Path.Combine(bin, "initdb"),
            ["-D", Path.Combine(folder, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        if (initdb.Code != 0) throw new InvalidOperationException($"initdb failed ({initdb.Code}): {initdb.Output}");
        await RunAsServerUserAsync("mkdir", [Path.Combine(folder, "socket")]);

        for (var attempt = 1; ; attempt++)
        {
            var server = new PostgresServer(bin, folder, NextPort());
            var options = string.Join(' ',
                $"-p {server.Port}", "-c listen_addresses=127.0.0.1", $"-k {server.SocketDirectory}",
                // a test cluster: durability buys nothing, and every test app keeps a connection pool
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=500");
            // -w: pg_ctl returns once the server accepts connections (it polls the postmaster.pid status for us)
            var start = await RunAsServerUserAsync(Path.Combine(bin, "pg_ctl"),
                ["-D", server.DataDirectory, "-l", Path.Combine(folder, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
            if (start.Code == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => server.StopAndDelete();
                return server;
            }
            var log = File.Exists(Path.Combine(folder, "server.log")) ? File.ReadAllText(Path.Combine(folder, "server.log")) : "";
            if (attempt < 10 && log.Contains("Address already in use", StringComparison.Ordinal)) continue; // someone else's port
            throw new InvalidOperationException($"pg_ctl start failed ({start.Code}): {start.Output}\n{log}");
        }
    }

    /// <summary>
    /// Stops the server at once and deletes its folder. The test host may be ended soon after the run, so no pg_ctl:
    /// SIGQUIT to the postmaster is PostgreSQL's immediate shutdown (no checkpoint; the cluster is thrown away).
    /// </summary>
    private void StopAndDelete()
    {
        Stop(DataDirectory);
        TryDelete(_folder);
    }

    private static void Stop(string dataDirectory)
    {
        const int sigQuit = 3;
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        try
        {
            // line 1 is the postmaster's pid, line 2 its data directory: signal it only if that process is this cluster's
            var lines = File.ReadAllLines(pidFile);
            if (lines.Length < 2 || !int.TryParse(lines[0], out var pid)) return;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            if (!cmdline.Contains("postgres", StringComparison.Ordinal) || !cmdline.Contains(dataDirectory, StringComparison.Ordinal)) return;
            kill(pid, sigQuit);
            // not our child, so nothing to wait on: watch /proc until it is gone (it writes no more files then)
            for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++) Thread.Sleep(20);
        }
        catch (IOException) { } // no server (never started, or gone)
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Clusters of test processes that no longer run: stop their server if it still runs, delete the folder.</summary>
    private static void RemoveLeftovers()
    {
        if (!Directory.Exists(Root)) return;
        foreach (var dir in Directory.GetDirectories(Root, "run-*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)["run-".Length..], out var pid) || IsRunning(pid)) continue;
            Stop(Path.Combine(dir, "data"));
            TryDelete(dir);
        }
    }

    private static bool IsRunning(int pid)
    {
        try { return !Process.GetProcessById(pid).HasExited; }
        catch (ArgumentException) { return false; }
    }

    private static void TryDelete(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (IOException) { } // still in use: the next run removes it
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Runs a server command as the current user, or as <c>postgres</c> when we are root.</summary>
    private static Task<(int Code, string Output)> RunAsServerUserAsync(string program, string[] args) =>
        geteuid() == 0
            ? RunAsync("runuser", ["-u", "postgres", "--", program, .. args])
            : RunAsync(program, args);

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        // pg_ctl start leaves the server holding inherited pipes: read to the process's exit, not to the pipes' end
        var stdout = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {Timeout.TotalSeconds} s: {stdout}");
        }
        lock (stdout) return (p.ExitCode, stdout.ToString());
    }

    private static (int Code, string Output)? Run(string program, string[] args)
    {
        try { return RunAsync(program, args).GetAwaiter().GetResult(); }
        catch (System.ComponentModel.Win32Exception) { return null; } // not installed
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int kill(int pid, int sig);

    /// <summary>
    /// A port below the kernel's ephemeral range and below the test Redis servers' range (see <see cref="RedisServer"/>),
    /// at this process's own offset.
    /// </summary>
    private static int NextPort()
    {
        const int first = 15_000, size = 5_000;
        for (var i = 0; i < 50; i++)
        {
            var port = first + (int)((Environment.ProcessId * 131L + Interlocked.Increment(ref _portCounter)) % size);
            if (IsFree(port)) return port;
        }
        throw new InvalidOperationException("no free loopback port for PostgreSQL");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }

    private static int _portCounter;
}
