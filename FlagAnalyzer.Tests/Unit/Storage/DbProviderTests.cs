using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Tests.Unit.Storage;

public class DbProviderTests
{
    [Theory]
    [InlineData("Data Source=/data/flags.db")]
    [InlineData("Data Source=:memory:")]
    [InlineData("DataSource=flags.db;Cache=Shared")]
    public void ProviderOf_ADataSource_IsSqlite(string connectionString) =>
        Assert.Equal(DbProvider.Sqlite, Db.ProviderOf(connectionString));

    [Theory]
    [InlineData("Host=127.0.0.1;Port=5432;Database=flagdb;Username=postgres")]
    [InlineData("Server=db;Database=flagdb")]
    [InlineData("host=db;database=flagdb")]
    public void ProviderOf_AHost_IsPostgres(string connectionString) =>
        Assert.Equal(DbProvider.Postgres, Db.ProviderOf(connectionString));

    [Fact]
    public void ASqliteDb_DescribesItsFile()
    {
        var db = new Db("Data Source=/tmp/some/flags.db");
        Assert.Equal(DbProvider.Sqlite, db.Provider);
        Assert.Equal("SQLite at /tmp/some/flags.db", db.Description);
    }

    [Fact]
    public void APostgresDb_DescribesItsDatabase_WithoutThePassword()
    {
        var db = new Db("Host=127.0.0.1;Port=5433;Database=flagdb;Username=u;Password=secret-pw");
        Assert.Equal(DbProvider.Postgres, db.Provider);
        Assert.Equal("PostgreSQL database flagdb on 127.0.0.1:5433", db.Description);
        Assert.DoesNotContain("secret-pw", db.Description);
    }
}
