using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FlagAnalyzer.Api.Storage;

/// <summary>The two stores the API runs on; <c>ConnectionStrings:flagdb</c> picks one (<see cref="Db.ProviderOf"/>).</summary>
public enum DbProvider { Sqlite, Postgres }

/// <summary>
/// The API's one way into its database: SQLite (a file, the default) or PostgreSQL (shared by several replicas).
/// Reads open a connection with <see cref="OpenAsync"/>; writes take <see cref="BeginWriteAsync(WriteLock, CancellationToken)"/>
/// with the <see cref="WriteLock"/> their read-check-write needs. SQLite has one writer (BEGIN IMMEDIATE) and ignores the
/// lock; PostgreSQL takes it as transaction-scoped advisory locks, which hold across replicas, so writes to different
/// flags do not wait on each other while two writes to one flag cannot interleave.
/// </summary>
public sealed class Db
{
    /// <summary>
    /// The advisory lock behind <see cref="WriteLock.All"/> (an arbitrary constant, "FlagAnW"): held exclusively by
    /// <see cref="WriteLock.All"/> and shared by every narrower lock, so <see cref="WriteLock.All"/> still waits for, and
    /// holds off, every locked writer.
    /// </summary>
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

    /// <summary>
    /// An open connection with a write transaction holding <paramref name="writeLock"/> (PostgreSQL; SQLite's one write
    /// lock covers everything). Take the narrowest lock that keeps the transaction's read-check-write correct; when the
    /// flag is known only after a read, begin with <see cref="WriteLock.None"/> and <see cref="WriteScope.LockAsync"/>.
    /// </summary>
    public async Task<WriteScope> BeginWriteAsync(WriteLock writeLock, CancellationToken ct = default)
    {
        var conn = await OpenAsync(ct);
        try
        {
            if (conn is SqliteConnection sqlite) return new WriteScope(sqlite, sqlite.BeginTransaction(deferred: false), writeLock);
            var scope = new WriteScope(conn, await conn.BeginTransactionAsync(ct), WriteLock.None);
            await scope.LockAsync(writeLock, ct);
            return scope;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A write transaction with <see cref="WriteLock.All"/>: it waits for every locked writer and holds them all off, as
    /// every write did before per-flag locks. For tests, tools and code that has not chosen a narrower lock.
    /// </summary>
    public Task<WriteScope> BeginWriteAsync(CancellationToken ct = default) => BeginWriteAsync(WriteLock.All, ct);
}

/// <summary>A connection and its write transaction; disposing without <see cref="CommitAsync"/> rolls back.</summary>
public sealed class WriteScope(DbConnection connection, DbTransaction transaction, WriteLock writeLock) : IAsyncDisposable
{
    public DbConnection Connection { get; } = connection;
    public DbTransaction Transaction { get; } = transaction;
    public DbProvider Provider => Connection.Provider();

    /// <summary>The lock this transaction holds (on SQLite: the lock it asked for, which SQLite's write lock implies).</summary>
    public WriteLock Lock { get; private set; } = writeLock;

    /// <summary>
    /// Takes <paramref name="writeLock"/> in a transaction that holds none yet: the one lock of a transaction whose flag was
    /// known only after a read. Once per transaction and before its first write — a second lock taken later could wait,
    /// in the wrong order, for a transaction waiting for this one. Re-read what the lock protects afterwards: a writer
    /// that held it may have committed meanwhile (on PostgreSQL; SQLite's write transaction excluded it from the start).
    /// The one exception: a transaction holding <see cref="WriteLock.Ingest"/> may then take <see cref="WriteLock.Flags"/>
    /// of (some of) those flags, for the detection on its samples (see <see cref="WriteLock.Ingest"/>).
    /// </summary>
    public async Task LockAsync(WriteLock writeLock, CancellationToken ct = default)
    {
        if (writeLock.IsNone) return;
        var upgrade = Lock.Admits(writeLock);
        if (!Lock.IsNone && !upgrade) throw new InvalidOperationException($"This write transaction already holds {Lock}; it cannot also take {writeLock}.");
        Lock = writeLock;
        if (Connection is not NpgsqlConnection) return;
        await using var cmd = Connection.CreateCommand();
        cmd.Transaction = Transaction;
        if (upgrade)
        {
            // an ingest holds its flags' keys shared; taking them exclusively now could wait for another ingest doing the
            // same (a deadlock), so its detection is kept apart from other ingests' by keys only ingests take, always last
            cmd.CommandText = "SELECT pg_advisory_xact_lock(k) FROM unnest(@keys) AS k";
            cmd.Parameters.Add(new NpgsqlParameter<long[]>("keys", writeLock.DetectionKeys().ToArray()));
            await cmd.ExecuteNonQueryAsync(ct);
            return;
        }
        if (writeLock.IsAll)
        {
            cmd.CommandText = "SELECT pg_advisory_xact_lock(@all)";
        }
        else if (writeLock.IsShared)
        {
            cmd.CommandText = "SELECT pg_advisory_xact_lock_shared(@all); SELECT pg_advisory_xact_lock_shared(k) FROM unnest(@keys) AS k";
            cmd.Parameters.Add(new NpgsqlParameter<long[]>("keys", writeLock.Keys.ToArray()));
        }
        else
        {
            // unnest yields the keys in array order, which is sorted: every transaction takes its keys in one order,
            // so two of them holding one key each can never wait for each other's
            cmd.CommandText = "SELECT pg_advisory_xact_lock_shared(@all); SELECT pg_advisory_xact_lock(k) FROM unnest(@keys) AS k";
            cmd.Parameters.Add(new NpgsqlParameter<long[]>("keys", writeLock.Keys.ToArray()));
        }
        cmd.Parameters.Add(new NpgsqlParameter<long>("all", Db.WriteLockKey));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Whether this transaction holds <paramref name="flagId"/>'s lock (its own, or <see cref="WriteLock.All"/>).</summary>
    public bool Holds(string flagId) => Lock.Covers(flagId);

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
