using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// How every store talks to the database: Dapper, with rows mapped to properties by column name (<c>flag_id</c> →
/// <c>FlagId</c>) and every value a parameter (<c>@name</c>, which both providers accept). Where the SQL of the two
/// stores differs, the store keeps both texts side by side and picks one with <see cref="Pick"/>.
/// </summary>
public static class Sql
{
    static Sql() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public static DbProvider Provider(this DbConnection conn) => conn is NpgsqlConnection ? DbProvider.Postgres : DbProvider.Sqlite;

    /// <summary>The SQL text for this connection's store.</summary>
    public static T Pick<T>(this DbConnection conn, T sqlite, T postgres) =>
        conn.Provider() == DbProvider.Postgres ? postgres : sqlite;

    public static T Pick<T>(this WriteScope s, T sqlite, T postgres) => s.Connection.Pick(sqlite, postgres);

    private static CommandDefinition Def(string sql, object? param, DbTransaction? tx, CancellationToken ct) =>
        new(sql, param, tx, cancellationToken: ct);

    public static async Task<List<T>> ListAsync<T>(this DbConnection conn, DbTransaction? tx, string sql, object? param, CancellationToken ct) =>
        (await conn.QueryAsync<T>(Def(sql, param, tx, ct))).AsList();

    public static Task<T?> FirstOrDefaultAsync<T>(this DbConnection conn, DbTransaction? tx, string sql, object? param, CancellationToken ct) =>
        conn.QueryFirstOrDefaultAsync<T>(Def(sql, param, tx, ct));

    public static Task<T?> ScalarAsync<T>(this DbConnection conn, DbTransaction? tx, string sql, object? param, CancellationToken ct) =>
        conn.ExecuteScalarAsync<T>(Def(sql, param, tx, ct));

    /// <summary>Runs a statement; returns the rows it changed.</summary>
    public static Task<int> ExecAsync(this DbConnection conn, DbTransaction? tx, string sql, object? param, CancellationToken ct) =>
        conn.ExecuteAsync(Def(sql, param, tx, ct));

    public static Task<List<T>> ListAsync<T>(this WriteScope s, string sql, object? param, CancellationToken ct) =>
        s.Connection.ListAsync<T>(s.Transaction, sql, param, ct);

    public static Task<T?> FirstOrDefaultAsync<T>(this WriteScope s, string sql, object? param, CancellationToken ct) =>
        s.Connection.FirstOrDefaultAsync<T>(s.Transaction, sql, param, ct);

    public static Task<T?> ScalarAsync<T>(this WriteScope s, string sql, object? param, CancellationToken ct) =>
        s.Connection.ScalarAsync<T>(s.Transaction, sql, param, ct);

    public static Task<int> ExecAsync(this WriteScope s, string sql, object? param, CancellationToken ct) =>
        s.Connection.ExecAsync(s.Transaction, sql, param, ct);

    /// <summary>
    /// A unique index refused the write: SQLite's SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY, PostgreSQL's 23505. The write
    /// paths check first inside their serialised transaction, so this is the backstop, answered as the same 409.
    /// </summary>
    public static bool IsUniqueViolation(Exception e) => e switch
    {
        SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 } => true,
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => true,
        _ => false,
    };

    /// <summary>The database refused or failed the statement (as opposed to a bug in the caller).</summary>
    public static bool IsDatabaseError(Exception e) => e is DbException;
}
