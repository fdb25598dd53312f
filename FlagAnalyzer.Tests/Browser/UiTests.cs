using System.Net;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>The pages beyond the seed's steps: serving, validation messages, flag detail.</summary>
[Collection(BrowserCollection.Name)]
public sealed class UiTests(BrowserFixture browser)
{
    private HttpClient Api => browser.Server.Api;

    [Fact]
    public async Task DeepLinkToAClientRoute_LoadsThatPage_AndAMissingAssetIs404()
    {
        await using var session = await browser.OpenAsync(nameof(DeepLinkToAClientRoute_LoadsThatPage_AndAMissingAssetIs404));
        var page = await session.NewPageAsync();
        var response = await page.GotoAsync("/ui/anomalies");
        Assert.Equal(200, response!.Status);
        await Expect(page.GetByTestId("anomalies-page")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("nav-anomalies")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("text-indigo-700"));

        await page.GotoAsync("/ui/flags/no-such-flag");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("no-such-flag");
        await session.ShotAsync(page, "unknown-flag");

        var missing = await Api.GetAsync("/ui/assets/no-such-file.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var shell = await Api.GetAsync("/ui/flags");
        Assert.Equal("text/html", shell.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", shell.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task CreateFlag_WithAnInvalidName_ShowsTheApiMessageNextToTheName()
    {
        await using var session = await browser.OpenAsync(nameof(CreateFlag_WithAnInvalidName_ShowsTheApiMessageNextToTheName));
        var page = await session.NewPageAsync();
        await page.GotoAsync("/ui/flags");
        await page.GetByTestId("create-flag-button").ClickAsync();
        await page.GetByTestId("flag-name").FillAsync("New Checkout!");
        await page.GetByTestId("create-flag-submit").ClickAsync();
        await Expect(page.GetByTestId("field-error-name")).ToContainTextAsync("may contain only");
        await session.ShotAsync(page, "invalid-name");

        // a taken name is the API's 409, shown as a banner
        var taken = TestData.UniqueName("taken");
        await TestData.CreateFlagAsync(Api, taken);
        await page.GetByTestId("flag-name").FillAsync(taken);
        await page.GetByTestId("create-flag-submit").ClickAsync();
        await Expect(page.GetByTestId("create-flag-form").GetByRole(AriaRole.Alert)).ToContainTextAsync("already exists");
        await session.ShotAsync(page, "name-taken");
    }

    [Fact]
    public async Task FlagDetail_ShowsMetricsWithChangeMarkers_TimelineWhoAndWhat_AndPredictionEvidence_UpdatingLive()
    {
        await using var session = await browser.OpenAsync(nameof(FlagDetail_ShowsMetricsWithChangeMarkers_TimelineWhoAndWhat_AndPredictionEvidence_UpdatingLive));
        var flag = await TestData.CreateFlagAsync(Api, TestData.UniqueName("detail"), "staging");
        var flagId = flag.GetProperty("id").GetString()!;
        var now = DateTimeOffset.UtcNow;
        await TestData.PostMetricsAsync(Api, TestData.Samples(flagId, 20, 0.6, 50, now.AddMinutes(-10), TimeSpan.FromMinutes(1), seed: 3));
        var change = await TestData.RecordChangeAsync(Api, flag, "enabled", enabled: true, changedBy: "alice@example.com");
        await TestData.PostMetricsAsync(Api, TestData.Samples(flagId, 10, 0.6, 52, now.AddSeconds(10), TimeSpan.FromSeconds(1), seed: 4));

        var page = await session.NewPageAsync();
        await page.GotoAsync($"/ui/flags/{flagId}");
        await Expect(page.GetByTestId("flag-detail")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("metrics-count")).ToContainTextAsync("30 samples");
        await Expect(page.Locator("[data-testid=chart-errors] .recharts-line-curve")).ToHaveCountAsync(1);
        await Expect(page.Locator("[data-testid=chart-latency] .recharts-line-curve")).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-testid=chart-errors] .recharts-reference-line")).ToHaveCountAsync(1);

        var enabled = page.Locator("[data-testid=change][data-change-type=enabled]");
        await Expect(enabled.GetByTestId("change-by")).ToHaveTextAsync("alice@example.com");
        await Expect(enabled).ToContainTextAsync("enabled: false → true");
        await Expect(page.Locator("[data-testid=change][data-change-type=created]")).ToHaveCountAsync(1);

        var prediction = page.GetByTestId("flag-predictions").GetByTestId("prediction").First;
        var expected = change.GetProperty("prediction");
        await Expect(prediction.GetByTestId("risk-level")).ToHaveTextAsync(expected.GetProperty("riskLevel").GetString()!);
        await Expect(prediction.GetByTestId("prediction-source")).ToHaveTextAsync(expected.GetProperty("source").GetString()!);
        var evidenceKey = expected.GetProperty("evidence").EnumerateObject().First().Name;
        await Expect(prediction.GetByTestId("prediction-evidence")).ToContainTextAsync(evidenceKey);
        await session.ShotAsync(page, "flag-detail");

        // new samples from elsewhere appear without a reload
        await TestData.PostMetricsAsync(Api, TestData.Samples(flagId, 5, 0.6, 52, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1), seed: 5));
        await Expect(page.GetByTestId("metrics-count")).ToContainTextAsync("35 samples", new() { Timeout = 20_000 });
        await session.ShotAsync(page, "flag-detail-updated");
        Assert.Empty(session.Errors);
    }
}
