using FlagAnalyzer.Api.Storage;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>PostgreSQL's twin of PersistenceTests.Migrations_RunOnce_ARestartDoesNotReapplyThem (which reads the SQLite file).</summary>
public sealed class PostgresMigrationTests
{
    [Fact]
    public async Task Migrations_ThreeAppsStartingTogetherOnOneDatabase_ApplyEachVersionOnce_AndARestartReappliesNone()
    {
        var first = new ApiFactory();
        ApiFactory[] apps = [first, new(first.DatabasePath), new(first.DatabasePath)];
        try
        {
            // each app runs its migrations as it starts: all three at once, as replicas started together would
            var answers = await Task.WhenAll(apps.Select(a => Task.Run(() => a.CreateClient().GetAsync("/"))));
            Assert.All(answers, r => Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}"));
        }
        finally
        {
            foreach (var a in apps) a.Dispose();
        }
        // every version the app knows, each once
        var applied = await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(*) FROM schema_migrations");
        Assert.Equal(Migrations.All.Count, applied);
        Assert.Equal(Migrations.All.Count, await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(DISTINCT version) FROM schema_migrations"));
        Assert.Equal(Migrations.All.Max(m => m.Version), await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT max(version) FROM schema_migrations"));

        using var restarted = first.Restart();
        var answer = await restarted.CreateClient().GetAsync("/");
        Assert.True(answer.IsSuccessStatusCode, $"the restarted app answered {(int)answer.StatusCode}");
        Assert.Equal(Migrations.All.Count, await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(*) FROM schema_migrations"));
    }
}
