using Microsoft.Data.Sqlite;

namespace FlagAnalyzer.Api.Storage;

/// <summary>Brings the SQLite file to the newest schema: WAL mode, then each missing step in its own transaction.</summary>
public sealed class DatabaseMigrator(Db db, ILogger<DatabaseMigrator> logger)
{
    public async Task MigrateAsync(CancellationToken ct = default)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(db.FilePath));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);

        await using var conn = await db.OpenAsync(ct);
        await Exec(conn, null, "PRAGMA journal_mode = WAL;", ct);
        await Exec(conn, null, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY,
                name        TEXT NOT NULL,
                applied_at  INTEGER NOT NULL
            );
            """, ct);

        var applied = new HashSet<long>();
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT version FROM schema_migrations";
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) applied.Add(r.GetInt64(0));
        }

        foreach (var step in Migrations.All.OrderBy(s => s.Version).Where(s => !applied.Contains(s.Version)))
        {
            await using var tx = conn.BeginTransaction(deferred: false);
            await Exec(conn, tx, step.Sql, ct);
            await using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($v, $n, $t)";
                cmd.Parameters.AddWithValue("$v", step.Version);
                cmd.Parameters.AddWithValue("$n", step.Name);
                cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
            logger.LogInformation("Applied schema migration {Version} ({Name}) to {Path}", step.Version, step.Name, db.FilePath);
        }
    }

    private static async Task Exec(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
