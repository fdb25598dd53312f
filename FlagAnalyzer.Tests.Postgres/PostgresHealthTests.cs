using System.Net;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.Postgres;

/// <summary>
/// PostgreSQL's twins of the health tests that name the <c>sqlite</c> check (ServiceApiTests, AccessApiTests,
/// ErrorStatusTests): on PostgreSQL the database check is <c>postgres</c>.
/// </summary>
public sealed class PostgresHealthTests : IDisposable
{
    private readonly ApiFactory _app = new();

    [Fact]
    public async Task Health_ReportsPostgresCheck_DetailsOnlyWithAKey()
    {
        var withKey = (await (await _app.CreateClient().GetAsync("/health")).ReadJson()).GetProperty("checks");
        var anonymous = (await (await _app.CreateAnonymousClient().GetAsync("/health")).ReadJson()).GetProperty("checks");

        Assert.Equal("Healthy", withKey.GetProperty("postgres").GetProperty("status").GetString());
        Assert.False(withKey.TryGetProperty("sqlite", out _), "a PostgreSQL app has no SQLite check");
        Assert.Contains(Npgsql(_app.DatabasePath).Database!, withKey.GetProperty("postgres").GetProperty("description").GetString());
        Assert.Equal("Healthy", anonymous.GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, anonymous.GetProperty("postgres").GetProperty("description").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await _app.CreateClient().GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task Health_WhenTheDatabaseCannotAnswer_Is503NamingPostgres()
    {
        var client = _app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        await TestDatabase.ExecuteAsync(_app.DatabasePath, "DROP TABLE schema_migrations");

        var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var check = (await response.ReadJson()).GetProperty("checks").GetProperty("postgres");
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
    }

    private static global::Npgsql.NpgsqlConnectionStringBuilder Npgsql(string cs) => new(cs);

    public void Dispose() => _app.Dispose();
}
