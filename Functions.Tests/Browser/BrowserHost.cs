using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// What every browser test stands on: a test app on Azurite, the page in web/ served beside it (<see cref="LocalSite"/>),
/// and Debian's headless Chromium driven by Playwright (its own browser download is not used).
/// </summary>
public sealed class BrowserHost : IAsyncDisposable
{
    private const string ChromiumPath = "/usr/bin/chromium";
    public const float TimeoutMilliseconds = 15_000;

    private BrowserHost(TestApp app, LocalSite site, IPlaywright playwright, IBrowser browser)
    {
        App = app;
        Site = site;
        Playwright = playwright;
        Browser = browser;
    }

    public TestApp App { get; }

    public LocalSite Site { get; }

    public IBrowser Browser { get; }

    private IPlaywright Playwright { get; }

    public static async Task<BrowserHost> StartAsync(string azuriteConnectionString)
    {
        Assert.True(File.Exists(ChromiumPath),
            $"{ChromiumPath} is missing. The browser tests use Debian's Chromium: run `apt-get update && apt-get install -y chromium` (.ci/run does this).");
        SetDefaultExpectTimeout(TimeoutMilliseconds);
        var app = TestApp.Create(azuriteConnectionString);
        var site = await LocalSite.StartAsync(app, RepositoryRoot.Combine("web"));
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return new BrowserHost(app, site, playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Site.DisposeAsync();
        await App.DisposeAsync();
    }
}
