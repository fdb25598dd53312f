using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Tests.Support;

namespace FlagAnalyzer.Tests.AppHost;

/// <summary>
/// The real AppHost with the cache as a redis-server process (so a test can kill it), no LLM and no web
/// dev server, the API on a fresh SQLite file; started once per test class and shared by its tests.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly string _databasePath = Path.Combine(FlagAnalyzer.Tests.Api.TempDatabases.Folder, $"apphost-{Guid.NewGuid():N}.db");

    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        RedisServer.RequireInstalled();
        using var cts = new CancellationTokenSource(Timeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.FlagAnalyzer_AppHost>(
            ["--Parameters:cache-mode=redis-server", "--Parameters:llm-mode=none", "--Parameters:web-mode=none", $"--Parameters:admin-key={TestKeys.Admin}"], cts.Token)
            .WaitAsync(Timeout);
        builder.CreateResourceBuilder<ProjectResource>("api")
            .WithEnvironment("ConnectionStrings__flagdb", $"Data Source={_databasePath}");
        App = await builder.BuildAsync(cts.Token).WaitAsync(Timeout);
        await App.StartAsync(cts.Token).WaitAsync(Timeout);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("api", cts.Token).WaitAsync(Timeout);
    }

    public HttpClient Api() => App.CreateHttpClient("api").WithAdminKey();

    /// <summary>The API's SQLite file, for tests that must look at (or change) the state behind the API.</summary>
    public string DatabasePath => _databasePath;

    public async Task DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync().AsTask().WaitAsync(Timeout);
        foreach (var f in new[] { _databasePath, _databasePath + "-wal", _databasePath + "-shm" }) File.Delete(f);
    }
}

/// <summary>AppHost tests start whole stacks; one at a time is all two cores can take.</summary>
[CollectionDefinition("AppHost", DisableParallelization = true)]
public sealed class AppHostCollection;
