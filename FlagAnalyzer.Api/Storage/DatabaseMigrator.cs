using System.Data.Common;
using Dapper;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// Brings the database to the newest schema, each missing step in its own transaction. SQLite first switches to WAL;
/// PostgreSQL holds a session advisory lock around the whole run, so of several replicas starting together one
/// migrates and the others wait, then find every step applied.
/// </summary>
public sealed class DatabaseMigrator(Db db, ILogger<DatabaseMigrator> logger)
{
    /// <summary>The advisory lock held while migrating ("FlagAnM"); not the write lock, so writers are not confused with it.</summary>
    public const long MigrationLockKey = 0x466C6167416E4D;

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        if (db.Provider == DbProvider.Sqlite)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(db.FilePath));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        }

        await using var conn = await db.OpenAsync(ct);
        if (db.Provider == DbProvider.Postgres)
            await conn.ExecAsync(null, "SELECT pg_advisory_lock(@key)", new { key = MigrationLockKey }, ct);
        try
        {
            await MigrateAsync(conn, ct);
        }
        finally
        {
            if (db.Provider == DbProvider.Postgres)
                await conn.ExecAsync(null, "SELECT pg_advisory_unlock(@key)", new { key = MigrationLockKey }, CancellationToken.None);
        }
    }

    private async Task MigrateAsync(DbConnection conn, CancellationToken ct)
    {
        await conn.ExecAsync(null, conn.Pick(
            sqlite: """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     INTEGER PRIMARY KEY,
                    name        TEXT NOT NULL,
                    applied_at  INTEGER NOT NULL
                );
                """,
            postgres: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     BIGINT PRIMARY KEY,
                    name        TEXT NOT NULL,
                    applied_at  BIGINT NOT NULL
                );
                """), null, ct);

        var applied = (await conn.ListAsync<long>(null, "SELECT version FROM schema_migrations", null, ct)).ToHashSet();
        foreach (var step in Migrations.All.OrderBy(s => s.Version).Where(s => !applied.Contains(s.Version)))
        {
            await using var tx = db.Provider == DbProvider.Sqlite
                ? ((Microsoft.Data.Sqlite.SqliteConnection)conn).BeginTransaction(deferred: false)
                : await conn.BeginTransactionAsync(ct);
            // Dapper would read @ and $ in DDL as parameters; the steps take none
            await using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = step.For(db.Provider);
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await conn.ExecAsync(tx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (@version, @name, @at)",
                new { version = (long)step.Version, name = step.Name, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, ct);
            await tx.CommitAsync(ct);
            logger.LogInformation("Applied schema migration {Version} ({Name}) to {Database}", step.Version, step.Name, db.Description);
        }
    }
}
