using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// The dashboard with 500 flags: it shows data, and the time from navigation to the first flag row on screen
/// is written to the test output (the figure in benchmarks/README.md; timing is measured here, never asserted).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardLoadTests(BrowserFixture browser, ITestOutputHelper output)
{
    // records, in the page itself, when the app shell renders (the baseline: code loaded, no data yet) and when
    // flag rows first appear: no polling delay from the test side
    private const string MarkDataShown = """
        new MutationObserver((_, observer) => {
          if (!window.__shellAt && document.querySelector('[data-testid=dashboard]')) window.__shellAt = performance.now();
          if (document.querySelector('[data-testid=dashboard-flag]')) {
            window.__dataShownAt = performance.now();
            observer.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
        """;

    [Fact]
    public async Task Dashboard_With500Flags_ShowsData()
    {
        using var server = new UiServer();
        await Task.WhenAll(Enumerable.Range(0, 500).Chunk(50).Select(async chunk =>
        {
            foreach (var i in chunk)
                await TestData.CreateFlagAsync(server.Api, $"load-{i:000}", i % 3 == 0 ? "production" : "staging", enabled: i % 2 == 0);
        }));

        await using var session = await browser.OpenAsync(nameof(Dashboard_With500Flags_ShowsData), server);
        await session.Context.AddInitScriptAsync(MarkDataShown);
        var page = await session.NewPageAsync();

        var times = new List<double>();
        var shell = new List<double>();
        for (var run = 0; run < 5; run++)
        {
            // first run: cold cache; then reloads, as a user coming back would
            await page.GotoAsync("/ui", new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
            await Expect(page.GetByTestId("stat-flags")).ToHaveTextAsync("100+");
            await Expect(page.GetByTestId("dashboard-flag")).ToHaveCountAsync(100);
            times.Add(await page.EvaluateAsync<double>("() => window.__dataShownAt"));
            shell.Add(await page.EvaluateAsync<double>("() => window.__shellAt"));
        }
        await session.ShotAsync(page, "dashboard-500-flags");
        output.WriteLine($"dashboard data shown after navigation, ms: {Summary(times)}");
        output.WriteLine($"baseline, app shell rendered (no data yet), ms: {Summary(shell)}");
    }

    private static string Summary(List<double> runs) =>
        $"first {runs[0]:F0}, runs [{string.Join(", ", runs.Select(t => t.ToString("F0")))}], median {runs.Order().ElementAt(runs.Count / 2):F0}";
}
