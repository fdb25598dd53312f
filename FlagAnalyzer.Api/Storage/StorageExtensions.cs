using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlagAnalyzer.Api.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// SQLite from <c>ConnectionStrings:flagdb</c>, defaulting to <c>data/flags.db</c> under the content root; the
    /// shared Redis connection when <c>ConnectionStrings:cache</c> is set (<see cref="RedisConnection"/>).
    /// </summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        var cs = builder.Configuration.GetConnectionString("flagdb");
        if (string.IsNullOrWhiteSpace(cs))
            cs = $"Data Source={Path.Combine(builder.Environment.ContentRootPath, "data", "flags.db")}";
        builder.Services.AddSingleton(new Db(cs));
        builder.Services.AddSingleton<DatabaseMigrator>();
        builder.Services.AddHealthChecks().AddCheck<SqliteHealthCheck>("sqlite");
        builder.AddRedisConnection();
        return builder;
    }

    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
    }
}

internal sealed class SqliteHealthCheck(Db db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var conn = await db.OpenAsync(ct);
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM schema_migrations";
            await cmd.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy($"SQLite at {db.FilePath}");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"SQLite at {db.FilePath} is unavailable", ex);
        }
    }
}
