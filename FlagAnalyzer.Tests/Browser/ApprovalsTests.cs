using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Api.Access;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>Issue 27 items 1 and 3 in real Chromium: an editor's change waits in a protected environment; a second key approves it in the inbox.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ApprovalsTests(BrowserFixture browser)
{
    private HttpClient Api => browser.Server.Api;

    [Fact]
    public async Task EditorsChange_InAProtectedEnvironment_IsApprovedInTheInboxByASecondKey_AndTheFlagPageShowsItLive()
    {
        // an environment of its own, so protecting it does not hold the other browser tests' changes
        var environment = TestData.UniqueName("gov");
        Assert.Equal(HttpStatusCode.Created, (await Api.PostJson("/api/environments", new { name = environment })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Api.PatchAsJsonAsync($"/api/environments/{environment}", new { @protected = true })).StatusCode);
        var editor = await Api.CreateKeyAsync("editor", name: TestData.UniqueName("author"));
        var approver = await Api.CreateKeyAsync("editor", name: TestData.UniqueName("approver"));
        var name = TestData.UniqueName("guarded");
        var flag = await (await Api.PostJson("/api/flags", new { name, enabled = true, rolloutPercentage = 10, targetEnvironment = environment }))
            .ReadAs<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;

        using var asEditor = new HttpClient { BaseAddress = browser.Server.BaseUrl };
        asEditor.WithKey(editor.Secret);
        var held = await asEditor.PatchAsJsonAsync($"/api/flags/{flagId}", new { rolloutPercentage = 60 });
        Assert.Equal(HttpStatusCode.Accepted, held.StatusCode);
        var requestId = (await held.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("changeRequest").GetProperty("id").GetString()!;

        await using var session = await browser.OpenAsync(nameof(EditorsChange_InAProtectedEnvironment_IsApprovedInTheInboxByASecondKey_AndTheFlagPageShowsItLive),
            signedIn: false);
        await session.Context.AddInitScriptAsync($"window.sessionStorage.setItem('{BrowserFixture.KeyStorageName}', {JsonSerializer.Serialize(approver.Secret)});");

        // the flag page, open on its own tab: still 10 % while the request waits
        var flagPage = await session.NewPageAsync();
        await flagPage.GotoAsync($"/ui/flags/{flagId}");
        await Expect(flagPage.GetByTestId("live-status")).ToHaveAttributeAsync("data-status", "live");
        await Expect(flagPage.GetByTestId("rollout-value")).ToHaveTextAsync("10%");

        var inbox = await session.NewPageAsync();
        await inbox.GotoAsync("/ui/");
        await Expect(inbox.GetByTestId("approvals-badge")).ToBeVisibleAsync();
        await inbox.GetByTestId("nav-approvals").ClickAsync();
        var card = inbox.GetByTestId($"change-request-{requestId}");
        await Expect(card.GetByTestId("diff-row-rolloutPercentage")).ToContainTextAsync("60");
        await session.ShotAsync(inbox, "pending");
        await card.GetByTestId($"approve-{requestId}").ClickAsync();
        await Expect(card).ToHaveCountAsync(0);

        // the other tab was not reloaded: the approval's change reached it live
        await Expect(flagPage.GetByTestId("rollout-value")).ToHaveTextAsync("60%");
        await session.ShotAsync(flagPage, "applied");

        var request = await (await Api.GetAsync($"/api/change-requests/{requestId}")).ReadAs<JsonElement>();
        Assert.Equal("applied", request.GetProperty("state").GetString());
        Assert.Equal(approver.Id, request.GetProperty("decidedBy").GetProperty("keyId").GetString());
        Assert.Empty(session.Errors);
    }
}
