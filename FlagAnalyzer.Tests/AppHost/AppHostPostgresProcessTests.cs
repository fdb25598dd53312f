using Aspire.Hosting;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Tests.Support;
using Npgsql;

namespace FlagAnalyzer.Tests.AppHost;

/// <summary>
/// <c>db-mode=postgres</c> on a machine without a container engine: Debian's postgres server as an AppHost process on
/// its private data directory — initialized on the first run, kept across runs, stopped with the AppHost.
/// </summary>
[Collection("AppHost")]
public sealed class AppHostPostgresProcessTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"flaganalyzer-apphost-pg-{Guid.NewGuid():N}");

    public AppHostPostgresProcessTests()
    {
        Directory.CreateDirectory(_folder);
        // as root the server runs as the postgres user, which creates the data directory in here
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_folder, (UnixFileMode)0b111_111_111);
    }

    private string DataDirectory => Path.Combine(_folder, "data");

    [Fact]
    public async Task PostgresProcess_InitializesFlagdbOnTheFirstRun_KeepsItAcrossRuns_AndStopsWithTheAppHost()
    {
        PostgresServer.RequireInstalled();

        int pid;
        await using (var first = await StartAsync())
        {
            await using var db = await OpenFlagdbAsync(first);
            Assert.Equal("flagdb", await Scalar(db, "SELECT current_database()"));
            Assert.Equal("localhost", await Scalar(db, "SHOW listen_addresses"));
            await Scalar(db, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('from the first run'); SELECT 1");
            pid = int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First());
        }
        Assert.True(await Wait.Until(() => Task.FromResult(!Directory.Exists($"/proc/{pid}")), TimeSpan.FromSeconds(30)),
            $"postgres (pid {pid}) still runs after the AppHost stopped");

        await using var second = await StartAsync();
        await using var again = await OpenFlagdbAsync(second);
        Assert.Equal("from the first run", await Scalar(again, "SELECT v FROM kept"));
    }

    private async Task<DistributedApplication> StartAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.FlagAnalyzer_AppHost>(
            ["--Parameters:db-mode=postgres-server", $"--Parameters:postgres-data={DataDirectory}", "--Parameters:cache-mode=none",
             "--Parameters:llm-mode=none", "--Parameters:web-mode=none", $"--Parameters:admin-key={TestKeys.Admin}"], cts.Token).WaitAsync(Timeout);
        var app = await builder.BuildAsync(cts.Token).WaitAsync(Timeout);
        await app.StartAsync(cts.Token).WaitAsync(Timeout);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("postgres", cts.Token).WaitAsync(Timeout);
        return app;
    }

    private static async Task<NpgsqlConnection> OpenFlagdbAsync(DistributedApplication app)
    {
        var cs = await app.GetConnectionStringAsync("postgres").AsTask().WaitAsync(Timeout);
        var connection = new NpgsqlConnection(cs + ";Pooling=false");
        await connection.OpenAsync().WaitAsync(Timeout);
        return connection;
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
