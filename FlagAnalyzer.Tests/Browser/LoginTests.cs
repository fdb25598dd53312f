using FlagAnalyzer.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>The login page against the real API, under the UI's real Content-Security-Policy.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LoginTests(BrowserFixture browser)
{
    [Fact]
    public async Task LoginWithTheBootstrapKey_ShowsTheLiveDashboard_LogoutForgetsTheKey()
    {
        await using var session = await browser.OpenAsync(nameof(LoginWithTheBootstrapKey_ShowsTheLiveDashboard_LogoutForgetsTheKey), signedIn: false);
        var page = await session.NewPageAsync();
        var cspViolations = new List<string>();
        page.Console += (_, m) => { if (m.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) cspViolations.Add(m.Text); };

        await page.GotoAsync("/ui");
        await page.GetByTestId("login-key").FillAsync("fa_abcdefgh_not-a-key-anyone-has-00000000000000000");
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("login-error")).ToContainTextAsync("did not accept");
        await session.ShotAsync(page, "refused");

        await page.GetByTestId("login-key").FillAsync(TestKeys.Admin);
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("dashboard")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("live-status")).ToHaveAttributeAsync("data-status", "live");
        await Expect(page.GetByTestId("account")).ToContainTextAsync("admin");
        Assert.Equal(TestKeys.Admin, await page.EvaluateAsync<string>($"() => sessionStorage.getItem('{BrowserFixture.KeyStorageName}')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        await session.ShotAsync(page, "signed-in");

        await page.GetByTestId("logout").ClickAsync();
        await Expect(page.GetByTestId("login-page")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>($"() => sessionStorage.getItem('{BrowserFixture.KeyStorageName}')"));
        Assert.Empty(cspViolations);
        Assert.Empty(session.Errors);
    }
}
