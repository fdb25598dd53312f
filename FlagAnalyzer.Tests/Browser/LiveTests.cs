using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>What other systems do through the API shows up in an open UI, pushed over the SignalR hub.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LiveTests(BrowserFixture browser)
{
    private HttpClient Api => browser.Server.Api;

    [Fact]
    public async Task OpenUi_ConnectsToTheHub_AndSaysLive()
    {
        await using var session = await browser.OpenAsync(nameof(OpenUi_ConnectsToTheHub_AndSaysLive));
        var page = await session.NewPageAsync();
        await page.GotoAsync("/ui");
        await Expect(page.GetByTestId("live-status")).ToHaveAttributeAsync("data-status", "live");
        await session.ShotAsync(page, "live");
    }

    [Fact]
    public async Task Regression_PostedToTheApi_ArrivesLiveOnTheAnomaliesPage_IsAcknowledged_ThenResolves()
    {
        await using var session = await browser.OpenAsync(nameof(Regression_PostedToTheApi_ArrivesLiveOnTheAnomaliesPage_IsAcknowledged_ThenResolves));
        var flag = await TestData.CreateFlagAsync(Api, TestData.UniqueName("spike"), "production");
        var flagId = flag.GetProperty("id").GetString()!;

        // a steady baseline for the last hour, then the flag is enabled
        var now = DateTimeOffset.UtcNow;
        await TestData.PostMetricsAsync(Api, TestData.Samples(flagId, 40, errorRate: 0.5, latencyP50: 45, now.AddMinutes(-1), TimeSpan.FromMinutes(1), seed: 1));
        await TestData.RecordChangeAsync(Api, flag, "enabled", enabled: true, changedBy: "release-bot");

        var page = await session.NewPageAsync();
        await page.GotoAsync("/ui/anomalies");
        await Expect(page.GetByTestId("anomalies-page")).ToBeVisibleAsync();
        var anomaly = page.Locator($"[data-testid=anomaly][data-flag-id='{flagId}']");
        await Expect(anomaly).ToHaveCountAsync(0);
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await session.ShotAsync(page, "anomalies-before");

        // after the change the error rate is five times the baseline
        var spike = TestData.Samples(flagId, 20, errorRate: 2.5, latencyP50: 46, DateTimeOffset.UtcNow.AddSeconds(20), TimeSpan.FromSeconds(1), seed: 2);
        await TestData.PostMetricsAsync(Api, spike);

        await Expect(anomaly.First).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Expect(anomaly.First.GetByTestId("anomaly-type")).ToContainTextAsync("error");
        await Expect(anomaly.First.GetByTestId("anomaly-status")).ToHaveTextAsync("active");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        await session.ShotAsync(page, "anomaly-arrived");

        await anomaly.First.GetByTestId("acknowledge").ClickAsync();
        await Expect(anomaly.First.GetByTestId("anomaly-status")).ToHaveTextAsync("acknowledged");
        var open = await (await Api.GetAsync($"/api/anomalies?flagId={flagId}")).ReadAs<JsonElement>();
        Assert.Contains(open.GetProperty("items").EnumerateArray(), a => a.GetProperty("status").GetString() == "acknowledged");
        await session.ShotAsync(page, "anomaly-acknowledged");

        // the error rate comes back to its baseline: the anomaly resolves, leaves the open list, and is on the Resolved tab
        var recovery = TestData.Samples(flagId, 20, errorRate: 0.5, latencyP50: 45, DateTimeOffset.UtcNow.AddSeconds(50), TimeSpan.FromSeconds(1), seed: 3);
        await TestData.PostMetricsAsync(Api, recovery);
        await Expect(anomaly).ToHaveCountAsync(0, new() { Timeout = 20_000 });
        await page.GetByTestId("tab-resolved").ClickAsync();
        await Expect(anomaly.First.GetByTestId("anomaly-status")).ToHaveTextAsync("resolved");
        await Expect(anomaly.First.GetByTestId("acknowledge")).ToHaveCountAsync(0);
        await session.ShotAsync(page, "anomaly-resolved");
    }
}
