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
        var applied = await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(*) FROM schema_migrations");
        Assert.True(applied > 0);
        Assert.Equal(applied, await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(DISTINCT version) FROM schema_migrations"));

        using var restarted = first.Restart();
        await restarted.CreateClient().GetAsync("/");
        Assert.Equal(applied, await TestDatabase.ScalarAsync(first.DatabasePath, "SELECT count(*) FROM schema_migrations"));
    }
}
