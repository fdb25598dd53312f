using System.Text.Json;
using FlagAnalyzer.Tests.Api;
using FlagAnalyzer.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// The README's "First five minutes", followed in Chromium step by step on a fresh API (its own empty SQLite file):
/// the flag name and the curl come from README.md, each step checks the words the README uses for what the user
/// clicks and sees, and a screenshot is taken per step.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class FirstFiveMinutesTests(BrowserFixture browser)
{
    /// <summary>The steps this test follows, in order: the README's tour must have exactly these.</summary>
    private static readonly string[] Steps =
        ["Sign in", "Create a flag", "Simulate metrics", "Enable it", "Widen the rollout", "Watch an anomaly arrive", "Widen again"];

    [Fact]
    public void ReadmeTour_HasExactlyTheStepsTheBrowserTestFollows() =>
        Assert.Equal(Steps, ReadmeTour.Read().Steps.Select(s => s.Title));

    [Fact]
    public async Task ReadmeTour_FollowedInTheUi_ShowsThePredictionThenAnAnomalyArrivingLive()
    {
        var tour = ReadmeTour.Read();
        Assert.Equal(Steps, tour.Steps.Select(s => s.Title));
        var spikeCurl = Assert.Single(tour["Watch an anomaly arrive"].Curls);
        var name = ReadmeTour.Body(spikeCurl).GetProperty("flagId").GetString()!;

        using var server = new UiServer();
        var api = server.Api;
        await using var session = await browser.OpenAsync(nameof(ReadmeTour_FollowedInTheUi_ShowsThePredictionThenAnAnomalyArrivingLive), server, signedIn: false);
        var page = await session.NewPageAsync();

        // 1. sign in with the admin key (here the test's bootstrap admin key, as the AppHost's admin-key parameter is there)
        var step = tour["Sign in"];
        step.Says("http://localhost:5080/ui/");
        step.Says("**Live**");
        await page.GotoAsync("/ui/");
        await page.GetByTestId("login-key").FillAsync(TestKeys.Admin);
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("dashboard")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("live-status")).ToHaveAttributeAsync("data-status", "live");
        await Expect(page.GetByTestId("live-status")).ToContainTextAsync("Live");
        await session.ShotAsync(page, "signed-in");

        // 2. create the flag
        step = tour["Create a flag"];
        step.Says($"`{name}`");
        step.Says("environment `production`");
        step.Says("**Flags** → **Create Flag**");
        step.Says("**Create flag**");
        step.Says("**disabled**");
        await page.GetByTestId("nav-flags").ClickAsync();
        await Expect(page.GetByTestId("nav-flags")).ToContainTextAsync("Flags");
        var open = page.GetByTestId("create-flag-button");
        await Expect(open).ToContainTextAsync("Create Flag");
        await open.ClickAsync();
        await page.GetByTestId("flag-name").FillAsync(name);
        await page.GetByTestId("flag-environment").FillAsync("production");
        await Expect(page.GetByTestId("create-flag-submit")).ToContainTextAsync("Create flag");
        await page.GetByTestId("create-flag-submit").ClickAsync();
        var card = page.Locator($"[data-testid=flag-card][data-flag-name='{name}']");
        await Expect(card.GetByTestId("flag-state")).ToHaveTextAsync("disabled");
        var flag = await (await api.GetAsync($"/api/flags/{name}")).ReadAs<JsonElement>();
        var flagId = flag.GetProperty("id").GetString()!;
        Assert.Equal("production", flag.GetProperty("targetEnvironment").GetString());
        await session.ShotAsync(page, "flag-created");

        // 3. simulate metrics: the baseline
        step = tour["Simulate metrics"];
        step.Says("**Simulate metrics**");
        step.Says("30 samples");
        step.Says("**30 samples recorded**");
        var simulate = card.GetByTestId("simulate-metrics");
        await Expect(simulate).ToContainTextAsync("Simulate metrics");
        await simulate.ClickAsync();
        await Expect(card.GetByTestId("simulate-result")).ToContainTextAsync("30 samples recorded");
        var samples = await (await api.GetAsync($"/api/flags/{flagId}/metrics")).ReadAs<JsonElement>();
        Assert.Equal(30, samples.GetProperty("items").GetArrayLength());
        await session.ShotAsync(page, "metrics-simulated");

        // 4. enable it: on, but for nobody yet
        step = tour["Enable it"];
        step.Says("**Enable**");
        step.Says("**enabled for 0 %**");
        var toggle = card.GetByTestId("toggle-flag");
        await Expect(toggle).ToContainTextAsync("Enable");
        await toggle.ClickAsync();
        await Expect(card.GetByTestId("flag-state")).ToHaveTextAsync("enabled for 0 %");
        await Expect(card.GetByTestId("flag-state-hint")).ToContainTextAsync("raise the rollout");
        await session.ShotAsync(page, "enabled-for-0");

        // 5. widen the rollout with the slider; the prediction is on the card and, in full, on the dashboard
        step = tour["Widen the rollout"];
        step.Says("**Rollout** slider to `25%`");
        step.Says("**Predicted risk**");
        step.Says("**95 %**");
        step.Says("**evidence**");
        await DragRolloutAsync(page, card, 25);
        await Expect(card.GetByTestId("change-prediction")).ToContainTextAsync("Predicted risk");
        var changes = await (await api.GetAsync($"/api/flags/{flagId}/changes?changeType=rollout_changed")).ReadAs<JsonElement>();
        // one drag is one change, 0 → 25 %
        var rolloutChange = Assert.Single(changes.GetProperty("items").EnumerateArray());
        Assert.Equal(25, rolloutChange.GetProperty("newValue").GetProperty("rolloutPercentage").GetInt32());
        await session.ShotAsync(page, "rollout-25");

        await page.GetByTestId("nav-dashboard").ClickAsync();
        var latest = (await (await api.GetAsync($"/api/predictions?flagId={flagId}")).ReadAs<JsonElement>()).GetProperty("items")[0];
        var prediction = page.Locator($"[data-testid=prediction][data-flag-id='{flagId}']").First;
        await Expect(prediction.GetByTestId("prediction-flag")).ToHaveTextAsync(name);
        await Expect(prediction.GetByTestId("risk-level")).ToHaveTextAsync(latest.GetProperty("riskLevel").GetString()!);
        await Expect(prediction).ToContainTextAsync("errors");
        await Expect(prediction).ToContainTextAsync("latency");
        await Expect(prediction).ToContainTextAsync("(95 %: ");
        await Expect(prediction.GetByTestId("prediction-evidence")).ToContainTextAsync("evidence");
        await session.ShotAsync(page, "dashboard-prediction");

        // 6. the README's curl, run by a shell as written (only the address is this test's), while the dashboard stays open
        step = tour["Watch an anomaly arrive"];
        step.Says("**Dashboard**");
        step.Says("*Active anomalies*");
        step.Says("**error spike**");
        step.Says("**critical**");
        Assert.Contains("localhost:5080", spikeCurl);
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var anomaly = page.GetByTestId("active-anomalies").Locator($"[data-testid=anomaly][data-flag-id='{flagId}']");
        await Expect(anomaly).ToHaveCountAsync(0);
        var curl = await ChildProcess.RunAsync("bash", ["-c", spikeCurl.Replace("localhost:5080", server.BaseUrl.Authority)],
            AppContext.BaseDirectory, TimeSpan.FromSeconds(30), new Dictionary<string, string> { ["FA_KEY"] = TestKeys.Admin });
        Assert.True(curl.ExitCode == 0, $"the README's curl exited {curl.ExitCode}:\n{curl.Output}");
        Assert.Equal(1, JsonDocument.Parse(curl.StdOut).RootElement.GetProperty("accepted").GetInt32());

        await Expect(anomaly).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Expect(anomaly.GetByTestId("anomaly-type")).ToHaveTextAsync("error spike");
        await Expect(anomaly.GetByTestId("anomaly-severity")).ToHaveTextAsync("critical");
        await Expect(anomaly.GetByTestId("anomaly-status")).ToHaveTextAsync("active");
        await Expect(anomaly).ToContainTextAsync("confidence");
        await Expect(anomaly.GetByRole(AriaRole.Link, new() { Name = name })).ToHaveAttributeAsync("href", $"/ui/flags/{flagId}");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the dashboard was reloaded");
        await session.ShotAsync(page, "anomaly-arrived");

        // 7. widening again while it is open is critical; then disable
        step = tour["Widen again"];
        step.Says("`50%`");
        step.Says("**critical**");
        step.Says("**before widening exposure**");
        step.Says("**Disable**");
        step.Says("**disabled**");
        await page.GetByTestId("nav-flags").ClickAsync();
        await DragRolloutAsync(page, card, 50);
        await Expect(card.GetByTestId("change-prediction").GetByTestId("risk-level")).ToHaveTextAsync("critical");
        await session.ShotAsync(page, "rollout-50-critical");

        await page.GetByTestId("nav-dashboard").ClickAsync();
        await Expect(prediction.GetByTestId("risk-level")).ToHaveTextAsync("critical");
        await Expect(prediction).ToContainTextAsync("before widening exposure");
        await session.ShotAsync(page, "dashboard-critical-prediction");

        await page.GetByTestId("nav-flags").ClickAsync();
        await Expect(toggle).ToContainTextAsync("Disable");
        await toggle.ClickAsync();
        await Expect(card.GetByTestId("flag-state")).ToHaveTextAsync("disabled");
        await session.ShotAsync(page, "disabled");

        Assert.Empty(session.Errors);
    }

    /// <summary>
    /// Drags the card's rollout slider as a user does: presses the thumb, moves right until the slider reads
    /// <paramref name="percent"/>, releases (the card commits the value on release, as one change).
    /// </summary>
    private static async Task DragRolloutAsync(IPage page, ILocator card, int percent)
    {
        var slider = card.GetByTestId("rollout-slider");
        var box = await slider.BoundingBoxAsync() ?? throw new InvalidOperationException("the rollout slider is not on screen");
        var current = int.Parse(await slider.InputValueAsync());
        var y = box.Y + box.Height / 2;
        var x = box.X + box.Width * current / 100.0;
        await page.Mouse.MoveAsync((float)x, (float)y);
        await page.Mouse.DownAsync();
        for (; x <= box.X + box.Width && int.Parse(await slider.InputValueAsync()) < percent; x += 2)
            await page.Mouse.MoveAsync((float)x, (float)y);
        await page.Mouse.UpAsync();
        await Expect(card.GetByTestId("rollout-value")).ToHaveTextAsync($"{percent}%");
    }
}
