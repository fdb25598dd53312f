using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// The API's one way into its SQLite file. Every connection runs in WAL mode with a busy timeout, so
/// readers never block the single writer; writes take <see cref="BeginWriteAsync"/> (BEGIN IMMEDIATE),
/// so a read-check-write sequence cannot interleave with another writer.
/// </summary>
public sealed class Db
{
    public Db(string connectionString)
    {
        var csb = new SqliteConnectionStringBuilder(connectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        ConnectionString = csb.ToString();
        FilePath = csb.DataSource;
    }

    public string ConnectionString { get; }
    public string FilePath { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken ct = default)
    {
        var conn = new SqliteConnection(ConnectionString);
        await conn.OpenAsync(ct);
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
        await cmd.ExecuteNonQueryAsync(ct);
        return conn;
    }

    /// <summary>An open connection with an immediate (write-locking) transaction.</summary>
    public async Task<WriteScope> BeginWriteAsync(CancellationToken ct = default)
    {
        var conn = await OpenAsync(ct);
        var tx = conn.BeginTransaction(deferred: false);
        return new WriteScope(conn, tx);
    }
}

/// <summary>A connection and its write transaction; disposing without <see cref="CommitAsync"/> rolls back.</summary>
public sealed class WriteScope(SqliteConnection connection, SqliteTransaction transaction) : IAsyncDisposable
{
    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction Transaction { get; } = transaction;

    public SqliteCommand Command(string sql)
    {
        var cmd = Connection.CreateCommand();
        cmd.Transaction = Transaction;
        cmd.CommandText = sql;
        return cmd;
    }

    public Task CommitAsync(CancellationToken ct = default) => Transaction.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
