using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Tests.Support;
using Npgsql;

namespace FlagAnalyzer.Tests.AppHost;

// GetEnvironmentVariableValuesAsync is marked obsolete in favour of ExecutionConfigurationBuilder, which needs a built
// app's services; for reading an unstarted model's values it is still the direct way
#pragma warning disable CS0618

/// <summary>
/// The resource model the parameters <c>db-mode</c> and <c>api-replicas</c> produce, read from the AppHost's builder
/// without starting anything (the stacks themselves are what the other AppHost tests and the multi-replica test run).
/// </summary>
public sealed class AppHostStoreParametersTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("postgres-container")]
    [InlineData("postgres-server")]
    public async Task DbModePostgres_WithThreeReplicas_GivesEveryApiReplicaTheSameHostFlagdb_AndTheCache(string dbMode)
    {
        if (dbMode == "postgres-server") PostgresServer.RequireInstalled();
        var builder = await Builder($"--Parameters:db-mode={dbMode}", "--Parameters:api-replicas=3");
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");

        // one resource, three processes: every replica is launched from this one definition, so they share its environment
        Assert.Equal(3, Assert.Single(api.Annotations.OfType<ReplicaAnnotation>()).Replicas);

        // the values the API processes start with, once ports are given (here by hand: nothing runs)
        var ports = AllocateEndpoints(builder);
        var env = await api.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run).AsTask().WaitAsync(Timeout);
        var flagdb = env["ConnectionStrings__flagdb"];
        Assert.StartsWith("Host=", flagdb);
        var parsed = new NpgsqlConnectionStringBuilder(flagdb);
        Assert.Equal(("localhost", ports["postgres"], "flagdb", "postgres"), (parsed.Host, parsed.Port, parsed.Database, parsed.Username));
        Assert.Equal($"localhost:{ports["cache"]}", env["ConnectionStrings__cache"]);

        Assert.Contains(builder.Resources, r => r.Name == "postgres" && (dbMode == "postgres-container" ? r is ContainerResource : r is ExecutableResource));
        Assert.Contains(api.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name is "flagdb" or "postgres");
    }

    [Fact]
    public async Task Defaults_AreSqliteAndOneReplica_WithNoDatabaseResource()
    {
        var builder = await Builder();
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");

        Assert.Empty(api.Annotations.OfType<ReplicaAnnotation>());
        AllocateEndpoints(builder);
        var env = await api.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run).AsTask().WaitAsync(Timeout);
        Assert.False(env.ContainsKey("ConnectionStrings__flagdb"), "SQLite is the API's own file: no flagdb is handed to it");
        Assert.DoesNotContain(builder.Resources, r => r.Name is "postgres" or "flagdb");
    }

    [Fact]
    public async Task SqliteWithThreeReplicas_RunsOne()
    {
        var builder = await Builder("--Parameters:api-replicas=3");
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");

        Assert.Empty(api.Annotations.OfType<ReplicaAnnotation>());
    }

    private static async Task<IDistributedApplicationTestingBuilder> Builder(params string[] args) =>
        await DistributedApplicationTestingBuilder.CreateAsync<Projects.FlagAnalyzer_AppHost>(
            ["--Parameters:cache-mode=redis-server", "--Parameters:llm-mode=none", "--Parameters:web-mode=none", $"--Parameters:admin-key={TestKeys.Admin}", .. args])
            .WaitAsync(Timeout);

    /// <summary>Gives every endpoint of the model a port on localhost, as DCP would at start; returns each resource's first.</summary>
    private static Dictionary<string, int> AllocateEndpoints(IDistributedApplicationTestingBuilder builder)
    {
        var ports = new Dictionary<string, int>();
        var next = 41_000;
        foreach (var resource in builder.Resources)
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
            {
                endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", next);
                ports.TryAdd(resource.Name, next++);
            }
        return ports;
    }
}
