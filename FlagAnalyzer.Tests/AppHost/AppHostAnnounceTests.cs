using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using FlagAnalyzer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlagAnalyzer.Tests.AppHost;

/// <summary>
/// What a newcomer reads in the AppHost's console (README, "First five minutes"): under "api is healthy at …" the UI's
/// addresses, the Vite dev server's and the API's /ui/, and both serve the UI. The real AppHost with the Vite dev
/// server, no cache and no LLM (neither matters here), the API on a fresh SQLite file.
/// </summary>
[Collection("AppHost")]
public sealed class AppHostAnnounceTests
{
    private static readonly TimeSpan Timeout = AppHostFixture.Timeout;

    [Fact]
    public async Task ApiHealthy_IsFollowedByTheUiAddresses_AndBothServeTheUi()
    {
        var databasePath = Path.Combine(FlagAnalyzer.Tests.Api.TempDatabases.Folder, $"apphost-announce-{Guid.NewGuid():N}.db");
        using var cts = new CancellationTokenSource(Timeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.FlagAnalyzer_AppHost>(
            ["--Parameters:cache-mode=none", "--Parameters:llm-mode=none", "--Parameters:web-mode=auto", $"--Parameters:admin-key={TestKeys.Admin}"], cts.Token)
            .WaitAsync(Timeout);
        var console = new AppHostConsole();
        builder.Services.AddSingleton<ILoggerProvider>(console);
        builder.CreateResourceBuilder<ProjectResource>("api").WithEnvironment("ConnectionStrings__flagdb", $"Data Source={databasePath}");
        try
        {
            await using var app = await builder.BuildAsync(cts.Token).WaitAsync(Timeout);
            await app.StartAsync(cts.Token).WaitAsync(Timeout);

            var uiLine = await console.UiLine.Task.WaitAsync(Timeout);
            var api = app.GetEndpoint("api", "http").ToString().TrimEnd('/');
            var vite = app.GetEndpoint("web", "http").ToString().TrimEnd('/');
            var lines = console.Lines.ToList();
            var healthy = lines.IndexOf($"api is healthy at {api}");
            Assert.True(healthy >= 0, $"no 'api is healthy at {api}' line in:\n{string.Join('\n', lines)}");
            // next to it: at most the line saying where the admin key is comes between
            Assert.InRange(lines.IndexOf(uiLine) - healthy, 1, 2);
            Assert.Equal($"UI: {vite}/ui/ (Vite, live reload) or {api}/ui/ (built by the API). Stop the stack with Ctrl+C in this terminal.", uiLine);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var built = await http.GetAsync($"{api}/ui/", cts.Token);
            Assert.Equal(System.Net.HttpStatusCode.OK, built.StatusCode);
            Assert.Contains("<title>FlagAnalyzer</title>", await built.Content.ReadAsStringAsync(cts.Token));

            // the dev server has no health check to await: it serves once Vite has started in its own process
            var devPage = "";
            var served = await Wait.Until(async () =>
            {
                try
                {
                    using var r = await http.GetAsync($"{vite}/ui/", cts.Token);
                    devPage = await r.Content.ReadAsStringAsync(cts.Token);
                    return r.IsSuccessStatusCode;
                }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60));
            Assert.True(served, $"the Vite dev server at {vite}/ui/ did not answer 200 within 60 s: {devPage}");
            Assert.Contains("/ui/@vite/client", devPage);
        }
        finally
        {
            foreach (var f in new[] { databasePath, databasePath + "-wal", databasePath + "-shm" }) File.Delete(f);
        }
    }

    /// <summary>The AppHost's own log lines (category FlagAnalyzer.AppHost), in order, as its console shows them.</summary>
    private sealed class AppHostConsole : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public TaskCompletionSource<string> UiLine { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ILogger CreateLogger(string categoryName) => categoryName == "FlagAnalyzer.AppHost" ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = formatter(state, exception);
            Lines.Enqueue(line);
            if (line.StartsWith("UI: ", StringComparison.Ordinal)) UiLine.TrySetResult(line);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public void Dispose() { }
    }
}
