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

    [Fact]
    public async Task Flags_FilteredByOwnerEnvironmentAndTag_KeepFiltersAcrossReload_AndTheSliderMovesTheRollout()
    {
        await using var session = await browser.OpenAsync(nameof(Flags_FilteredByOwnerEnvironmentAndTag_KeepFiltersAcrossReload_AndTheSliderMovesTheRollout));
        var owner = TestData.UniqueName("team");
        var payments = TestData.UniqueName("pay");
        var target = TestData.UniqueName("a1");
        await TestData.CreateFlagAsync(Api, target, "production", owner: owner, tags: [payments]);
        await TestData.CreateFlagAsync(Api, TestData.UniqueName("a2"), "staging", owner: owner, tags: [payments]);
        await TestData.CreateFlagAsync(Api, TestData.UniqueName("a3"), "production", owner: owner, tags: ["search"]);
        await TestData.CreateFlagAsync(Api, TestData.UniqueName("b1"), "production", owner: TestData.UniqueName("other"), tags: [payments]);

        var page = await session.NewPageAsync();
        await page.GotoAsync("/ui/flags");
        var cards = page.GetByTestId("flag-card");
        await page.GetByTestId("filter-owner").FillAsync(owner);
        await Expect(cards).ToHaveCountAsync(3);
        await page.GetByTestId("filter-environment").SelectOptionAsync("production");
        await Expect(cards).ToHaveCountAsync(2);
        await page.GetByTestId("filter-tag").FillAsync(payments);
        await Expect(cards).ToHaveCountAsync(1);
        await Expect(cards.First).ToHaveAttributeAsync("data-flag-name", target);
        await session.ShotAsync(page, "filtered");

        // the filters live in the URL: a reload (or a shared link) shows the same list
        await page.ReloadAsync();
        await Expect(page.GetByTestId("filter-owner")).ToHaveValueAsync(owner);
        await Expect(page.GetByTestId("filter-environment")).ToHaveValueAsync("production");
        await Expect(cards).ToHaveCountAsync(1);

        await page.GetByTestId("filter-tag").FillAsync("no-such-tag");
        await Expect(page.GetByTestId("flags-empty")).ToContainTextAsync("No flag matches");

        // one step of the slider (5%) is recorded as a rollout change when released
        await page.GetByTestId("filter-tag").FillAsync(payments);
        var card = cards.First;
        await card.GetByTestId("rollout-slider").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(card.GetByTestId("rollout-value")).ToHaveTextAsync("5%");
        await Expect(card.GetByTestId("change-prediction")).ToBeVisibleAsync();
        var flag = await (await Api.GetAsync($"/api/flags/{target}")).ReadAs<JsonElement>();
        Assert.Equal(5, flag.GetProperty("rolloutPercentage").GetDouble());
        var changes = await (await Api.GetAsync($"/api/flags/{target}/changes")).ReadAs<JsonElement>();
        Assert.Contains(changes.GetProperty("items").EnumerateArray(), c => c.GetProperty("changeType").GetString() == "rollout_changed");
        await session.ShotAsync(page, "rollout-moved");
    }
}
