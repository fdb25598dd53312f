using FlagAnalyzer.Tests.Support;
using Microsoft.Playwright;

namespace FlagAnalyzer.Tests.Browser;

/// <summary>
/// Debian's Chromium driven by Playwright (never a downloaded browser), and one API serving /ui, shared by the
/// browser tests. Each test opens its own browser context, so storage and sessions do not leak between tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        // without these Chromium keeps calling home, which a closed network answers slowly or not at all
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;

    public UiServer Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"The browser tests need Debian's Chromium at {ChromiumPath}: install the apt package 'chromium' (apt-get install -y chromium). " +
                "They never download a browser.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");

        Server = new UiServer();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        });
    }

    /// <summary>Where the UI keeps the key for the tab (FlagAnalyzer.Web/src/auth/session.ts).</summary>
    public const string KeyStorageName = "flaganalyzer.apiKey";

    /// <summary>
    /// A fresh context (own storage) on <paramref name="server"/> (default: the shared one), screenshots into a folder
    /// named after the test; <paramref name="signedIn"/>: the tab already holds the bootstrap admin key, as after the login page.
    /// </summary>
    public async Task<BrowserSession> OpenAsync(string testName, UiServer? server = null, bool signedIn = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = (server ?? Server).BaseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        if (signedIn)
            await context.AddInitScriptAsync($"window.sessionStorage.setItem('{KeyStorageName}', {System.Text.Json.JsonSerializer.Serialize(TestKeys.Admin)});");
        return new BrowserSession(context, Path.Combine(AppContext.BaseDirectory, "screenshots", testName));
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        Server?.Dispose();
    }
}

/// <summary>One browser context with numbered screenshots, one per step.</summary>
public sealed class BrowserSession(IBrowserContext context, string screenshotFolder) : IAsyncDisposable
{
    private int _step;

    public IBrowserContext Context => context;

    public string ScreenshotFolder => screenshotFolder;

    public async Task<IPage> NewPageAsync()
    {
        var page = await context.NewPageAsync();
        // a page that fails to render is a test failure worth seeing in the output
        page.PageError += (_, e) => Errors.Add(e);
        return page;
    }

    public List<string> Errors { get; } = [];

    public async Task<string> ShotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(screenshotFolder);
        var path = Path.Combine(screenshotFolder, $"{++_step:00}-{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public ValueTask DisposeAsync() => context.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
