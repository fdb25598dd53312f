using System.Net.Http.Json;

namespace FlagAnalyzer.Tests.Api;

/// <summary>Everything accepted survives a restart of the app on the same SQLite file.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task Restart_OnSameFile_KeepsFlagsChangesMetricsAndPredictions()
    {
        string id, predictionId;
        var first = new ApiFactory();
        using (first)
        {
            var client = first.CreateClient();
            id = (await (await client.PostJson("/api/flags", new { name = "durable", targetEnvironment = "production" })).ReadJson())
                .GetProperty("id").GetString()!;
            predictionId = (await (await client.PostJson("/api/flags/change", new { flagId = id, changeType = "enabled", newValue = new { rolloutPercentage = 20 } })).ReadJson())
                .GetProperty("prediction").GetProperty("id").GetString()!;
            await client.PostJson("/api/metrics", new[]
            {
                new { flagId = id, errorRate = 1.0, latencyP50 = 30.0, latencyP99 = 90.0, requestCount = 500 },
                new { flagId = id, errorRate = 1.2, latencyP50 = 31.0, latencyP99 = 95.0, requestCount = 510 },
            });
        }

        using var second = first.Restart();
        var again = second.CreateClient();
        var flag = await (await again.GetAsync("/api/flags/durable")).ReadJson();
        var changes = await (await again.GetAsync($"/api/flags/{id}/changes")).ReadJson();
        var metrics = await (await again.GetAsync($"/api/flags/{id}/metrics")).ReadJson();
        var prediction = await (await again.GetAsync($"/api/predictions/{predictionId}")).ReadJson();

        Assert.True(flag.GetProperty("enabled").GetBoolean());
        Assert.Equal(20, flag.GetProperty("rolloutPercentage").GetDouble());
        Assert.Equal(2, flag.GetProperty("version").GetInt64());
        Assert.Equal(["enabled", "created"], changes.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("changeType").GetString()));
        Assert.Equal(2, metrics.GetProperty("items").GetArrayLength());
        Assert.Equal(id, prediction.GetProperty("flagId").GetString());

        // the restarted app keeps counting versions from where the first stopped
        var patched = await (await again.PatchAsJsonAsync($"/api/flags/{id}", new { enabled = false })).ReadJson();
        Assert.Equal(3, patched.GetProperty("version").GetInt64());
    }

#if !POSTGRES // reads the SQLite file and its WAL journal mode (PostgreSQL's twin: PostgresMigrationTests)
    [Fact]
    public async Task Migrations_RunOnce_ARestartDoesNotReapplyThem()
    {
        var first = new ApiFactory();
        using (first) { await first.CreateClient().GetAsync("/"); }
        using var second = first.Restart();
        await second.CreateClient().GetAsync("/");

        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={first.DatabasePath}");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        // every version the app knows, each once
        cmd.CommandText = $"SELECT count(*) = count(DISTINCT version) AND count(*) = {FlagAnalyzer.Api.Storage.Migrations.All.Count} FROM schema_migrations; ";
        Assert.Equal(1L, (long)(await cmd.ExecuteScalarAsync())!);
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)(await cmd.ExecuteScalarAsync())!);
    }
#endif
}
