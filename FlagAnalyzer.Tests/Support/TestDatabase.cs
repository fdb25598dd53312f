using System.Data.Common;
using System.Diagnostics;
using System.Text;
using FlagAnalyzer.Api.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FlagAnalyzer.Tests.Support;

/// <summary>
/// The database behind a test app, whichever store it is: <c>ApiFactory.DatabasePath</c> is a SQLite file path, or
/// (in FlagAnalyzer.Tests.Postgres) the Npgsql connection string of a PostgreSQL database. For tests that look at
/// or change the state behind the API's back; the SQL must be valid on both (parameters as <c>@name</c>).
/// </summary>
public static class TestDatabase
{
    public static bool IsPostgres(string databasePath) => databasePath.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    /// <summary>An open connection to the database; <paramref name="sqliteOptions"/> (e.g. <c>Mode=ReadOnly</c>) apply to SQLite only.</summary>
    public static async Task<DbConnection> OpenAsync(string databasePath, string sqliteOptions = "Pooling=False")
    {
        DbConnection connection = IsPostgres(databasePath)
            ? new NpgsqlConnection(new NpgsqlConnectionStringBuilder(databasePath) { Pooling = false }.ConnectionString)
            : new SqliteConnection($"Data Source={databasePath};{sqliteOptions}");
        await connection.OpenAsync();
        return connection;
    }

    public static async Task<long> ScalarAsync(string databasePath, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(databasePath, "Mode=ReadOnly");
        await using var command = Command(connection, sql, parameters);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public static async Task ExecuteAsync(string databasePath, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(databasePath);
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Everything the store holds, as text, to search for what must never be stored (a secret): the SQLite file and
    /// its WAL as bytes, or a <c>pg_dump</c> of the PostgreSQL database.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RawContentsAsync(string databasePath)
    {
        if (!IsPostgres(databasePath))
        {
            ClearPool(databasePath);
            return new[] { "", "-wal" }.Select(s => databasePath + s).Where(File.Exists)
                .Select(p => Encoding.Latin1.GetString(File.ReadAllBytes(p))).ToList();
        }
        var server = await PostgresServer.Shared();
        var database = new NpgsqlConnectionStringBuilder(databasePath).Database!;
        var psi = new ProcessStartInfo(Path.Combine(server.BinDirectory, "pg_dump"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            ArgumentList = { "-h", "127.0.0.1", "-p", server.Port.ToString(), "-U", "postgres", "--no-owner", database },
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, $"pg_dump exited {p.ExitCode}: {await stderr}");
        return [await stdout];
    }

    /// <summary>
    /// Closes the idle pooled connections of the app on this SQLite file, and no other: tests run in parallel, each with
    /// its own file, and <c>ClearAllPools</c> would close theirs too. Microsoft.Data.Sqlite keys a pool by the exact
    /// connection string, so this clears the one the app's <see cref="Db"/> builds from the path.
    /// </summary>
    public static void ClearPool(string databasePath)
    {
        if (IsPostgres(databasePath)) return;
        using var connection = new SqliteConnection(new Db($"Data Source={databasePath}").ConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    private static DbCommand Command(DbConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }
        return command;
    }
}
