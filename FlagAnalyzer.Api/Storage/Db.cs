using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FlagAnalyzer.Api.Storage;

/// <summary>The two stores the API runs on; <c>ConnectionStrings:flagdb</c> picks one (<see cref="Db.ProviderOf"/>).</summary>
public enum DbProvider { Sqlite, Postgres }

/// <summary>
/// The API's one way into its database: SQLite (a file, the default) or PostgreSQL (shared by several replicas).
/// Reads open a connection with <see cref="OpenAsync"/>; writes take <see cref="BeginWriteAsync"/>, which serialises
/// every write transaction against every other — SQLite by BEGIN IMMEDIATE (its one write lock), PostgreSQL by a
/// transaction-scoped advisory lock taken as the transaction's first statement, which holds across replicas — so a
/// read-check-write sequence cannot interleave with another writer on either store.
/// </summary>
public sealed class Db
{
    /// <summary>The advisory lock every PostgreSQL write transaction holds (an arbitrary constant, "FlagAnW").</summary>
    public const long WriteLockKey = 0x466C6167416E57;

    private readonly NpgsqlDataSource? _postgres;

    /// <summary>From a connection string: <c>Data Source=…</c> is SQLite, <c>Host=…;Database=…</c> PostgreSQL.</summary>
    public Db(string connectionString)
    {
        if (ProviderOf(connectionString) == DbProvider.Postgres)
        {
            _postgres = NpgsqlDataSource.Create(connectionString);
            (Provider, ConnectionString, FilePath) = (DbProvider.Postgres, connectionString, "");
            Description = Describe(_postgres);
            return;
        }
        var csb = new SqliteConnectionStringBuilder(connectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        (Provider, ConnectionString, FilePath) = (DbProvider.Sqlite, csb.ToString(), csb.DataSource);
        Description = $"SQLite at {FilePath}";
    }

    /// <summary>PostgreSQL through a data source built elsewhere (Aspire.Npgsql registers it with tracing and metrics).</summary>
    public Db(NpgsqlDataSource dataSource)
    {
        _postgres = dataSource;
        (Provider, ConnectionString, FilePath) = (DbProvider.Postgres, dataSource.ConnectionString, "");
        Description = Describe(dataSource);
    }

    public DbProvider Provider { get; }
    public string ConnectionString { get; }
    /// <summary>The SQLite file; empty on PostgreSQL.</summary>
    public string FilePath { get; }
    /// <summary>Where the data lives, for health and logs (no password).</summary>
    public string Description { get; }

    /// <summary>PostgreSQL when the connection string names a host; everything else is a SQLite file.</summary>
    public static DbProvider ProviderOf(string connectionString)
    {
        var csb = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return csb.ContainsKey("Host") || csb.ContainsKey("Server") ? DbProvider.Postgres : DbProvider.Sqlite;
    }

    private static string Describe(NpgsqlDataSource ds)
    {
        var csb = new NpgsqlConnectionStringBuilder(ds.ConnectionString);
        return $"PostgreSQL database {csb.Database} on {csb.Host}:{csb.Port}";
    }

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (_postgres is not null) return await _postgres.OpenConnectionAsync(ct);
        var conn = new SqliteConnection(ConnectionString);
        await conn.OpenAsync(ct);
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
        await cmd.ExecuteNonQueryAsync(ct);
        return conn;
    }

    /// <summary>An open connection with a write transaction that no other writer, on any replica, interleaves with.</summary>
    public async Task<WriteScope> BeginWriteAsync(CancellationToken ct = default)
    {
        var conn = await OpenAsync(ct);
        try
        {
            if (conn is SqliteConnection sqlite) return new WriteScope(sqlite, sqlite.BeginTransaction(deferred: false));
            var tx = await conn.BeginTransactionAsync(ct);
            await using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "SELECT pg_advisory_xact_lock(@key)";
                cmd.Parameters.Add(new NpgsqlParameter<long>("key", WriteLockKey));
                await cmd.ExecuteNonQueryAsync(ct);
            }
            return new WriteScope(conn, tx);
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A connection and its write transaction; disposing without <see cref="CommitAsync"/> rolls back.</summary>
public sealed class WriteScope(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
{
    public DbConnection Connection { get; } = connection;
    public DbTransaction Transaction { get; } = transaction;
    public DbProvider Provider => Connection.Provider();

    private List<Func<WriteScope, CancellationToken, Task>>? _beforeCommit;

    /// <summary>
    /// A step to run as the transaction's last statements, right before it commits (the change feed takes its revisions
    /// there, so the counter row it locks is held only until the commit). Steps run once, in the order added.
    /// </summary>
    public void BeforeCommit(Func<WriteScope, CancellationToken, Task> step) => (_beforeCommit ??= []).Add(step);

    public async Task CommitAsync(CancellationToken ct = default)
    {
        if (_beforeCommit is { } steps)
        {
            _beforeCommit = null;
            foreach (var step in steps) await step(this, ct);
        }
        await Transaction.CommitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
