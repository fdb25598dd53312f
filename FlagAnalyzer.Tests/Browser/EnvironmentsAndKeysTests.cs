using System.Net.Http.Headers;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>Issue 26 item 5: the key page, the header's environment switcher, and the per-variant charts, in real Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class EnvironmentsAndKeysTests(BrowserFixture browser)
{
    private HttpClient Api => browser.Server.Api;

    [Fact]
    public async Task KeyPage_AnAdminCreatesAScopedKey_SeesItsSecretOnce_AndSeesItListed()
    {
        await using var session = await browser.OpenAsync(nameof(KeyPage_AnAdminCreatesAScopedKey_SeesItsSecretOnce_AndSeesItListed));
        var page = await session.NewPageAsync();
        await page.GotoAsync("/ui/");
        await page.GetByTestId("nav-keys").ClickAsync();
        await Expect(page.GetByTestId("keys-page")).ToBeVisibleAsync();

        var name = TestData.UniqueName("staging-reader");
        await page.GetByTestId("key-name").FillAsync(name);
        await page.GetByTestId("key-role").SelectOptionAsync("viewer");
        await page.GetByTestId("key-environment").SelectOptionAsync("staging");
        await page.GetByTestId("create-key-submit").ClickAsync();

        var secret = (await page.GetByTestId("key-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("fa_", secret);
        var row = page.Locator($"[data-testid=key-row][data-key-name='{name}']");
        await Expect(row.GetByTestId("key-row-scope")).ToHaveTextAsync("staging");
        await Expect(row.GetByTestId("key-row-role")).ToHaveTextAsync("viewer");
        await session.ShotAsync(page, "created");

        // the secret shown is the key's: the API knows it as a staging viewer
        using var asKey = new HttpClient { BaseAddress = browser.Server.BaseUrl };
        asKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        var me = await (await asKey.GetAsync("/api/auth/me")).ReadAs<JsonElement>();
        Assert.Equal("viewer", me.GetProperty("role").GetString());
        Assert.Equal("staging", me.GetProperty("environment").GetString());

        // shown once: after a reload the page lists the key but no longer holds its secret
        await page.ReloadAsync();
        await Expect(row).ToBeVisibleAsync();
        await Expect(page.GetByTestId("key-secret")).ToHaveCountAsync(0);

        await row.GetByTestId("revoke-key").ClickAsync();
        await row.GetByTestId("confirm-revoke").ClickAsync();
        await Expect(row.GetByTestId("key-row-revoked")).ToBeVisibleAsync();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await asKey.GetAsync("/api/auth/me")).StatusCode);
    }

    [Fact]
    public async Task HeaderSwitcher_FiltersTheFlagList_AndEveryPageKeepsTheChoice()
    {
        await using var session = await browser.OpenAsync(nameof(HeaderSwitcher_FiltersTheFlagList_AndEveryPageKeepsTheChoice));
        var owner = TestData.UniqueName("envs");
        var staging = TestData.UniqueName("stg");
        var production = TestData.UniqueName("prd");
        await TestData.CreateFlagAsync(Api, staging, "staging", owner: owner);
        await TestData.CreateFlagAsync(Api, production, "production", owner: owner);

        var page = await session.NewPageAsync();
        await page.GotoAsync($"/ui/flags?owner={owner}");
        var cards = page.GetByTestId("flag-card");
        await Expect(cards).ToHaveCountAsync(2);

        await page.GetByTestId("env-switcher").SelectOptionAsync("production");
        await Expect(cards).ToHaveCountAsync(1);
        await Expect(cards.First).ToHaveAttributeAsync("data-flag-name", production);
        await session.ShotAsync(page, "production");

        // another page and back through the header: the choice travels with the links
        await page.GetByTestId("nav-dashboard").ClickAsync();
        await Expect(page.GetByTestId("env-switcher")).ToHaveValueAsync("production");
        await Expect(page.GetByTestId("dashboard-flag").Filter(new() { HasText = staging })).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("dashboard-flag").Filter(new() { HasText = production })).ToHaveCountAsync(1);
        await page.GetByTestId("nav-flags").ClickAsync();
        await Expect(page.GetByTestId("env-switcher")).ToHaveValueAsync("production");

        // a page opened without the choice in its URL (a new tab, a bookmark) remembers it
        await page.GotoAsync($"/ui/flags?owner={owner}");
        await Expect(page.GetByTestId("env-switcher")).ToHaveValueAsync("production");
        await Expect(cards).ToHaveCountAsync(1);

        await page.GetByTestId("env-switcher").SelectOptionAsync("staging");
        await Expect(cards).ToHaveCountAsync(1);
        await Expect(cards.First).ToHaveAttributeAsync("data-flag-name", staging);
        await page.GetByTestId("env-switcher").SelectOptionAsync("");
        await Expect(cards).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task FlagPage_ChartsControlAgainstEachTreatmentVariant_AsPointsAtTheSampleTimes()
    {
        await using var session = await browser.OpenAsync(nameof(FlagPage_ChartsControlAgainstEachTreatmentVariant_AsPointsAtTheSampleTimes));
        var flag = await TestData.CreateFlagAsync(Api, TestData.UniqueName("arms"), "production", enabled: true);
        var flagId = flag.GetProperty("id").GetString()!;
        var end = DateTimeOffset.UtcNow;
        // a rollback's evidence: control at 1 % errors, the treatment variant at 3.5 %, sampled together each minute
        var samples = Enumerable.Range(0, 6).SelectMany(i => new object[]
        {
            new { flagId, timestamp = end.AddMinutes(i - 6), cohort = "control", variant = "off", errorRate = 1.0, latencyP50 = 80.0, latencyP99 = 200.0, requestCount = 5000 },
            new { flagId, timestamp = end.AddMinutes(i - 6), cohort = "treatment", variant = "on", errorRate = 3.5, latencyP50 = 90.0, latencyP99 = 260.0, requestCount = 5000 },
        }).ToArray();
        await TestData.PostMetricsAsync(Api, samples);

        var page = await session.NewPageAsync();
        await page.GotoAsync($"/ui/flags/{flagId}");
        var errors = page.GetByTestId("chart-errors");
        await Expect(errors).ToHaveAttributeAsync("data-arms", "off (control),on");
        await Expect(errors.Locator(".recharts-line-curve")).ToHaveCountAsync(2);
        // one dot per sample and arm: points at the sample times, not a smoothed line between them
        await Expect(errors.Locator(".recharts-line-dot")).ToHaveCountAsync(12);
        await Expect(page.GetByTestId("chart-latency").Locator(".recharts-line-curve")).ToHaveCountAsync(4);
        await Expect(errors.Locator(".recharts-legend-item")).ToHaveCountAsync(2);
        await Expect(errors.Locator(".recharts-legend-wrapper")).ToContainTextAsync("off (control)");
        await session.ShotAsync(page, "arms");
    }
}
