using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// What every browser test stands on: a test app on Azurite, the page in web/ served beside it (<see cref="LocalSite"/>),
/// and Debian's headless Chromium driven by Playwright (its own browser download is not used; <see cref="TestTools.Chromium"/>
/// installs the package when it is missing).
/// </summary>
public sealed class BrowserHost : IAsyncDisposable
{
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

    /// <param name="azuriteConnectionString">The Azurite the app's tables live in.</param>
    /// <param name="settingsFor">App settings for the page's origin (e.g. http://localhost:41234), on top of the tests' defaults.</param>
    public static async Task<BrowserHost> StartAsync(string azuriteConnectionString,
        Func<Uri, Task<IDictionary<string, string?>>>? settingsFor = null)
    {
        await TestTools.Chromium.EnsureAsync();
        SetDefaultExpectTimeout(TimeoutMilliseconds);
        TestApp? app = null;
        var site = await LocalSite.StartAsync(async pageOrigin =>
        {
            // Links in mails point at the page as served here, as Mail__PageOrigin makes them point at the deployed page; the
            // page's passkeys are for localhost and its origin, as with the local settings.
            var settings = new Dictionary<string, string?>
            {
                ["Mail:PageOrigin"] = pageOrigin.ToString(),
                ["Passkeys:RelyingPartyId"] = pageOrigin.Host,
                ["Passkeys:Origins"] = pageOrigin.GetLeftPart(UriPartial.Authority),
            };
            foreach (var (name, value) in settingsFor is null ? new Dictionary<string, string?>() : await settingsFor(pageOrigin))
            {
                settings[name] = value;
            }

            return app = TestApp.Create(azuriteConnectionString, settings);
        }, RepositoryRoot.Combine("web"));
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = TestTools.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return new BrowserHost(app!, site, playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Site.DisposeAsync();
        await App.DisposeAsync();
    }
}
