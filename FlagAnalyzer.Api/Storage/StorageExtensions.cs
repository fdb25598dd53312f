using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace FlagAnalyzer.Api.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// The database from <c>ConnectionStrings:flagdb</c>: <c>Data Source=…</c> (or nothing: <c>data/flags.db</c> under the
    /// content root) is SQLite; <c>Host=…;Database=…</c> is PostgreSQL through Aspire.Npgsql (its data source, with
    /// tracing and metrics). Then the shared Redis connection when <c>ConnectionStrings:cache</c> is set (<see cref="RedisConnection"/>).
    /// </summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        var cs = builder.Configuration.GetConnectionString("flagdb");
        if (string.IsNullOrWhiteSpace(cs))
            cs = $"Data Source={Path.Combine(builder.Environment.ContentRootPath, "data", "flags.db")}";
        if (Db.ProviderOf(cs) == DbProvider.Postgres)
        {
            builder.AddNpgsqlDataSource("flagdb", settings =>
            {
                settings.ConnectionString = cs;
                settings.DisableHealthChecks = true; // ours below, named like the store
            }, configureDataSourceBuilder: b =>
            {
                if (b.ConnectionStringBuilder.MaxAutoPrepare == 0) b.ConnectionStringBuilder.MaxAutoPrepare = AutoPreparedStatements;
            });
            builder.Services.AddSingleton(sp => new Db(sp.GetRequiredService<NpgsqlDataSource>()));
            builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("postgres");
        }
        else
        {
            builder.Services.AddSingleton(new Db(cs));
            builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("sqlite");
        }
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.AddRedisConnection();
        return builder;
    }

    /// <summary>
    /// PostgreSQL: statements run often enough are prepared once per connection (Npgsql's automatic preparation), so the
    /// write path's dozen statements skip parsing and planning; a connection string's own <c>Max Auto Prepare</c> wins.
    /// </summary>
    public const int AutoPreparedStatements = 64;

    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
    }
}

internal sealed class DatabaseHealthCheck(Db db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var conn = await db.OpenAsync(ct);
            await conn.ScalarAsync<long>(null, "SELECT count(*) FROM schema_migrations", null, ct);
            return HealthCheckResult.Healthy(db.Description);
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"{db.Description} is unavailable", ex);
        }
    }
}
