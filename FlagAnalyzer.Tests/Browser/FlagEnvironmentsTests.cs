using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// Issue 26 item 5 in real Chromium against the real API: the flag page's row per environment and promotion with a
/// diff. Written for the merged per-environment API (envcore's routes); on a branch without them the rows cannot load.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class FlagEnvironmentsTests(BrowserFixture browser)
{
    private HttpClient Api => browser.Server.Api;

    [Fact]
    public async Task FlagPage_EnabledInStaging_PromotedToProductionThroughTheDiffDialog_ProductionRowShowsEnabled()
    {
        await using var session = await browser.OpenAsync(nameof(FlagPage_EnabledInStaging_PromotedToProductionThroughTheDiffDialog_ProductionRowShowsEnabled));
        var flag = await TestData.CreateFlagAsync(Api, TestData.UniqueName("promo"), "staging");
        var flagId = flag.GetProperty("id").GetString()!;

        var page = await session.NewPageAsync();
        await page.GotoAsync($"/ui/flags/{flagId}");
        var rows = page.GetByTestId("env-rows");
        var staging = rows.Locator("[data-testid=env-row][data-environment=staging]");
        var production = rows.Locator("[data-testid=env-row][data-environment=production]");
        // a new flag is configured, disabled, in every environment
        await Expect(staging.GetByRole(AriaRole.Switch, new() { Name = "Enabled in staging" })).ToHaveAttributeAsync("aria-checked", "false");
        await Expect(production.GetByRole(AriaRole.Switch, new() { Name = "Enabled in production" })).ToHaveAttributeAsync("aria-checked", "false");

        await staging.GetByRole(AriaRole.Switch, new() { Name = "Enabled in staging" }).ClickAsync();
        await Expect(staging.GetByRole(AriaRole.Switch, new() { Name = "Enabled in staging" })).ToHaveAttributeAsync("aria-checked", "true");
        await Expect(production.GetByRole(AriaRole.Switch, new() { Name = "Enabled in production" })).ToHaveAttributeAsync("aria-checked", "false");
        await session.ShotAsync(page, "enabled-in-staging");

        await production.GetByRole(AriaRole.Button, new() { Name = "Promote from staging to production" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "from staging to production", Exact = false });
        await Expect(dialog).ToBeVisibleAsync();
        // the diff is visible before anything is applied: enabled goes from false to true
        var enabled = dialog.Locator("[data-testid=promote-change][data-field=enabled]");
        await Expect(enabled.Locator("td").Nth(1)).ToHaveTextAsync("false");
        await Expect(enabled.Locator("td").Nth(2)).ToHaveTextAsync("true");
        var before = await (await Api.GetAsync($"/api/flags/{flagId}/environments/production")).ReadAs<JsonElement>();
        Assert.False(before.GetProperty("enabled").GetBoolean());
        await session.ShotAsync(page, "diff");

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Promote to production" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(production.GetByRole(AriaRole.Switch, new() { Name = "Enabled in production" })).ToHaveAttributeAsync("aria-checked", "true");
        await session.ShotAsync(page, "promoted");

        var after = await (await Api.GetAsync($"/api/flags/{flagId}/environments/production")).ReadAs<JsonElement>();
        Assert.True(after.GetProperty("enabled").GetBoolean());
        // staging is where it was: a promotion copies into the target only
        var source = await (await Api.GetAsync($"/api/flags/{flagId}/environments/staging")).ReadAs<JsonElement>();
        Assert.True(source.GetProperty("enabled").GetBoolean());
    }
}
