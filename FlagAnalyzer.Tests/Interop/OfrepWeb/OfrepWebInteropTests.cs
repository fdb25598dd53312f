using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using FlagAnalyzer.Api.Evaluation.Streams;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Access;
using FlagAnalyzer.Tests.Browser;
using FlagAnalyzer.Tests.Support;
using FlagAnalyzer.Tests.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FlagAnalyzer.Tests.Interop.OfrepWeb;

/// <summary>
/// The real npm packages <c>@openfeature/web-sdk</c> 1.10.0 and <c>@openfeature/ofrep-web-provider</c> 0.4.3 in headless
/// Chromium, bundled by esbuild from this folder's committed lockfile (<c>npm ci</c> once per run, as the Node interop
/// does), on a page served from another origin than the API (so CORS is real too). The provider polls never: a change
/// reaches the page only through the OFREP event stream.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class OfrepWebInteropTests(BrowserFixture browser, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "FlagAnalyzer.Tests", "Interop", "OfrepWeb");

    /// <summary>Issue 28's promise: an admin's change shows on the page within 1 s.</summary>
    private static readonly TimeSpan Promise = TimeSpan.FromSeconds(1);

    private WebApplication _page = null!;
    private string _pageOrigin = "";
    private readonly ApiFactory _api = new();

    public async Task InitializeAsync()
    {
        await ChildProcess.NpmCiOnceAsync(Folder);
        var build = await ChildProcess.RunAsync("node",
            ["node_modules/esbuild/bin/esbuild", "page.js", "--bundle", "--format=esm", "--target=es2022", "--outfile=dist/page.bundle.js"],
            Folder, TimeSpan.FromMinutes(1));
        Assert.True(build.ExitCode == 0, build.Output);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _page = builder.Build();
        _page.MapGet("/", () => Results.File(Path.Combine(Folder, "index.html"), "text/html"));
        _page.MapGet("/page.bundle.js", () => Results.File(Path.Combine(Folder, "dist", "page.bundle.js"), "text/javascript"));
        await _page.StartAsync();
        _pageOrigin = _page.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        _api.Settings["Evaluation:CorsOrigins:0"] = _pageOrigin;
        _api.UseKestrel(0);
        _api.StartServer();
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _page.DisposeAsync();
    }

    [Fact]
    public async Task WebProvider_ShowsAdminsChangeAndRollback_ThroughTheEventStream_WithoutPolling()
    {
        var apiUrl = _api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("[::]", "127.0.0.1");
        using var admin = new HttpClient { BaseAddress = new Uri(apiUrl) }.WithAdminKey();
        async Task<string> Create(string name)
        {
            var r = await admin.PostAsJsonAsync("/api/flags", new { name, enabled = true, rolloutPercentage = 100, targetEnvironment = "production" });
            Assert.True(r.StatusCode == HttpStatusCode.Created, await r.Content.ReadAsStringAsync());
            return (await r.ReadJson()).GetProperty("id").GetString()!;
        }
        var kill = await Create("web-kill");
        var rollout = await Create("web-rollout");
        var sdkKey = (await admin.CreateKeyAsync("sdk", "production", "browser sdk")).Secret;

        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.Console += (_, m) => output.WriteLine($"console: {m.Text}");
        await page.GotoAsync($"{_pageOrigin}/#api={Uri.EscapeDataString(apiUrl)}&key={Uri.EscapeDataString(sdkKey)}&flags=web-kill,web-rollout");
        await page.WaitForSelectorAsync("body[data-ready=true]", new() { Timeout = 30_000 });
        Assert.Equal("true", await page.TextContentAsync("#web-kill"));
        Assert.Equal("true", await page.TextContentAsync("#web-rollout"));

        // the provider opens its stream after its first answer: changes before that would reach it by no stream at all
        var hub = _api.Services.GetRequiredService<StreamHub>();
        Assert.True(await Wait.Until(() => Task.FromResult(hub.Count == 1), Wait.Arrival), "the page never opened its event stream");

        // an admin disables a flag
        var clock = Stopwatch.StartNew();
        (await admin.PatchAsJsonAsync($"/api/flags/{kill}", new { enabled = false })).EnsureSuccessStatusCode();
        await page.WaitForSelectorAsync("#web-kill:text-is('false')", new() { Timeout = (float)Wait.Arrival.TotalMilliseconds });
        var killShown = clock.Elapsed;

        // the guardian's rollback (the change it records: rolled_back by guardian)
        clock.Restart();
        (await admin.PostAsJsonAsync("/api/flags/change", new
        {
            flagId = rollout, changeType = "rolled_back", changedBy = "guardian", newValue = new { enabled = false },
        })).EnsureSuccessStatusCode();
        await page.WaitForSelectorAsync("#web-rollout:text-is('false')", new() { Timeout = (float)Wait.Arrival.TotalMilliseconds });
        var rollbackShown = clock.Elapsed;

        // Chromium's EventSource is served below Kestrel's HTTP layer whichever connection it took: a fresh one, or its
        // bulk request's keep-alive connection taken back from Kestrel (issue 28's memory bound holds for browsers too)
        var connections = _api.Services.GetRequiredService<StreamConnections>();
        output.WriteLine($"streams served at the connection level: {connections.Served}, of them taken from a keep-alive connection: {connections.TakenOver}");
        Assert.True(connections.Served >= 1, "the page's stream took Kestrel's ordinary path");
        output.WriteLine($"disable shown after {killShown.TotalMilliseconds:F0} ms, rollback after {rollbackShown.TotalMilliseconds:F0} ms");
        Assert.True(killShown < Promise, $"the disable took {killShown.TotalMilliseconds:F0} ms to reach the page");
        Assert.True(rollbackShown < Promise, $"the rollback took {rollbackShown.TotalMilliseconds:F0} ms to reach the page");
    }
}
