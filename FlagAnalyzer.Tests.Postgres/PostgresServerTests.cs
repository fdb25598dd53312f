using FlagAnalyzer.Tests.Support;
using Npgsql;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>The throw-away cluster the PostgreSQL test runs stand on.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task Cluster_IsOnePerProcess_OnLoopback_UTF8_WithoutFsync()
    {
        var server = await PostgresServer.Shared();
        Assert.Same(server, await PostgresServer.Shared());

        await using var connection = new NpgsqlConnection(await server.CreateDatabaseAsync());
        await connection.OpenAsync();
        Assert.Equal("127.0.0.1", (await Scalar(connection, "SELECT host(inet_server_addr())"))?.ToString());
        Assert.Equal(server.Port, Convert.ToInt32(await Scalar(connection, "SELECT inet_server_port()")));
        Assert.Equal("UTF8", await Scalar(connection, "SHOW server_encoding"));
        Assert.Equal("off", await Scalar(connection, "SHOW fsync"));
    }

    [Fact]
    public async Task CreateDatabase_GivesEachCallerItsOwnEmptyDatabase()
    {
        var server = await PostgresServer.Shared();
        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();
        Assert.NotEqual(first, second);

        await using (var a = new NpgsqlConnection(first))
        {
            await a.OpenAsync();
            await Scalar(a, "CREATE TABLE only_here (id int); INSERT INTO only_here VALUES (1); SELECT 1");
            Assert.Equal(1L, await Scalar(a, "SELECT count(*) FROM only_here"));
        }
        await using var b = new NpgsqlConnection(second);
        await b.OpenAsync();
        Assert.Equal(0L, await Scalar(b, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
