using System.Diagnostics;
using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// The page in web/ in a real headless Chromium, served from one loopback port and calling the real function classes
/// on another through the test-only Kestrel adapter (<see cref="LocalSite"/>), with Azurite behind them.
/// Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it); Playwright's own browser download is not used.
/// </summary>
[Collection(typeof(BrowserTestsRunAlone))]
public sealed partial class WebPageTests(AzuriteFixture azurite) : BrowserTest(azurite)
{
    private const string Email = "ada@example.com";
    private const string DisplayName = "Ada";
    private const string GenericLoginError = "The email or password is incorrect.";

    [Fact(Timeout = 120_000)]
    public async Task Person_signs_up_adds_edits_deletes_and_sees_items_after_logging_in_again()
    {
        var started = Stopwatch.StartNew();
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        var titles = page.Locator("#items > li[data-item-id] .item-title");
        var password = AccountsTestExtensions.GoodPassword;
        await RunScenarioAsync(page, errors, async () =>
        {
            await page.GotoAsync(Site.PageUrl);
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();

            // Sign up: signed in at once, with an empty list.
            await page.Locator("#show-signup").ClickAsync();
            await page.Locator("#signup-email").FillAsync(Email);
            await page.Locator("#signup-password").FillAsync(password);
            await page.Locator("#signup-display-name").FillAsync(DisplayName);
            await page.Locator("#signup-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(DisplayName);
            await Expect(page.Locator("#items-empty")).ToBeVisibleAsync();

            // Three items, each shown at the top as soon as it is added.
            foreach (var (title, description) in new[]
            {
                ("Buy milk", "Two litres, semi-skimmed"),
                ("Call Grace", "About the conference talk"),
                ("Book flights", "Lisbon in May"),
            })
            {
                await page.Locator("#item-title").FillAsync(title);
                await page.Locator("#item-description").FillAsync(description);
                await page.Locator("#item-form [type=submit]").ClickAsync();
                await Expect(titles.First).ToHaveTextAsync(title);
                await Expect(page.Locator("#item-form")).Not.ToHaveAttributeAsync("aria-busy", "true");
                await Expect(page.Locator("#item-title")).ToHaveValueAsync("");
            }

            // A reload keeps the session (refresh token in sessionStorage) and lists what storage has, newest first.
            await page.ReloadAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(DisplayName);
            await Expect(titles).ToHaveTextAsync(["Book flights", "Call Grace", "Buy milk"]);

            // Edit: the dialog reads the item's ETag first, and the save sends it back as If-Match (so the API's
            // Access-Control-Expose-Headers and the preflight for If-Match both work across origins).
            await Item(page, "Call Grace").Locator("[data-action=edit]").ClickAsync();
            await Expect(page.Locator("#edit-dialog")).ToBeVisibleAsync();
            await Expect(page.Locator("#edit-form")).ToHaveAttributeAsync("aria-busy", "false");
            await Expect(page.Locator("#edit-title")).ToHaveValueAsync("Call Grace");
            await page.Locator("#edit-title").FillAsync("Call Grace on Friday");
            await page.Locator("#edit-description").FillAsync("About the conference talk, after 10:00");
            var put = await page.RunAndWaitForRequestAsync(() => page.Locator("#edit-save").ClickAsync(), request => request.Method == "PUT");
            Assert.StartsWith("W/\"", await put.HeaderValueAsync("If-Match") ?? "(no If-Match)", StringComparison.Ordinal);
            Assert.True((await put.ResponseAsync())?.Status == 200, "The edit's PUT did not answer 200. " + errors);
            await Expect(page.Locator("#edit-dialog")).ToBeHiddenAsync();
            await Expect(titles).ToHaveTextAsync(["Book flights", "Call Grace on Friday", "Buy milk"]);

            // Delete, through the confirmation dialog.
            await Item(page, "Buy milk").Locator("[data-action=delete]").ClickAsync();
            await Expect(page.Locator("#confirm-dialog")).ToBeVisibleAsync();
            await Expect(page.Locator("#confirm-message")).ToContainTextAsync("Buy milk");
            await page.Locator("#confirm-delete").ClickAsync();
            await Expect(page.Locator("#confirm-dialog")).ToBeHiddenAsync();
            await Expect(titles).ToHaveTextAsync(["Book flights", "Call Grace on Friday"]);

            // Log out: back to the login form, and nothing left in storage.
            await page.Locator("#logout-button").ClickAsync();
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#signed-in-user")).ToBeHiddenAsync();
            Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('items.refreshToken')"));

            // A wrong password and an unknown email get the same generic message.
            await LogInAsync(page, errors, Email, "not the password I signed up with", expectRejection: true);
            await Expect(page.Locator("#login-error")).ToHaveTextAsync(GenericLoginError);
            await LogInAsync(page, errors, "nobody@example.com", password, expectRejection: true);
            await Expect(page.Locator("#login-error")).ToHaveTextAsync(GenericLoginError);
            await Expect(page.Locator("#items-view")).ToBeHiddenAsync();

            // Log in again: the two remaining items, the edit kept.
            await LogInAsync(page, errors, Email, password, expectRejection: false);
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(DisplayName);
            await Expect(titles).ToHaveTextAsync(["Book flights", "Call Grace on Friday"]);
            await Expect(Item(page, "Call Grace on Friday").Locator(".item-description")).ToHaveTextAsync("About the conference talk, after 10:00");

            await SaveScreenshotAsync(page, "items-after-logging-in-again");
        });
        TestContext.Current.TestOutputHelper?.WriteLine($"Browser scenario took {started.Elapsed.TotalSeconds:0.0} s.");
    }

    [Fact(Timeout = 120_000)]
    public async Task Changing_the_password_in_one_browser_signs_the_other_out_at_its_next_refresh()
    {
        const string email = "grace@example.com";
        const string newPassword = "a new passphrase nobody else knows";
        await using var laptop = await NewContextAsync();
        await using var phone = await NewContextAsync();
        var laptopPage = await laptop.NewPageAsync();
        var phonePage = await phone.NewPageAsync();
        var laptopErrors = new BrowserErrors(laptopPage);
        var phoneErrors = new BrowserErrors(phonePage);
        try
        {
            Assert.Equal(201, (await App.SignupAsync(email)).Status);
            foreach (var (page, errors) in new[] { (phonePage, phoneErrors), (laptopPage, laptopErrors) })
            {
                await page.GotoAsync(Site.PageUrl);
                await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
                await LogInAsync(page, errors, email, AccountsTestExtensions.GoodPassword, expectRejection: false);
                await Expect(page.Locator("#items-view")).ToBeVisibleAsync();
            }

            // The laptop lists three sessions (the signup's and both browsers'), its own marked, the others with "Sign out".
            await Expect(laptopPage.Locator("#sessions > li")).ToHaveCountAsync(3);
            await Expect(laptopPage.Locator("#sessions > li .session-current")).ToHaveCountAsync(1);
            await Expect(laptopPage.Locator("#sessions [data-action=sign-out-session]")).ToHaveCountAsync(2);

            // A wrong current password is shown on its field and changes nothing.
            await laptopPage.Locator("#password-current").FillAsync("not my current password");
            await laptopPage.Locator("#password-new").FillAsync(newPassword);
            laptopErrors.ExpectRejection(400, Site.ApiBaseUrl + "/me/password");
            await laptopPage.Locator("#password-form [type=submit]").ClickAsync();
            await Expect(laptopPage.Locator("#password-current-error")).Not.ToBeEmptyAsync();

            await laptopPage.Locator("#password-current").FillAsync(AccountsTestExtensions.GoodPassword);
            await laptopPage.Locator("#password-form [type=submit]").ClickAsync();
            await Expect(laptopPage.Locator("#password-status")).ToContainTextAsync("Password changed");
            await Expect(laptopPage.Locator("#sessions > li")).ToHaveCountAsync(1);
            await Expect(laptopPage.Locator("#items-view")).ToBeVisibleAsync();

            // The phone still shows its page; its next refresh (here: a reload) is refused and it is back at the login form.
            phoneErrors.ExpectRejection(401, Site.ApiBaseUrl + "/auth/refresh");
            await phonePage.ReloadAsync();
            await Expect(phonePage.Locator("#login-form")).ToBeVisibleAsync();
            await Expect(phonePage.Locator("#items-view")).ToBeHiddenAsync();

            // The laptop carries on with its new session, across a reload too.
            await laptopPage.ReloadAsync();
            await Expect(laptopPage.Locator("#items-view")).ToBeVisibleAsync();
            await Expect(laptopPage.Locator("#sessions > li")).ToHaveCountAsync(1);

            // Sign out everywhere: the laptop is back at the login form, and its old refresh token is refused.
            var token = await laptopPage.EvaluateAsync<string?>("() => sessionStorage.getItem('items.refreshToken')");
            await laptopPage.Locator("#sign-out-everywhere").ClickAsync();
            await Expect(laptopPage.Locator("#login-form")).ToBeVisibleAsync();
            Assert.Equal(401, (await App.RefreshAsync(token!)).Status);
            await SaveScreenshotAsync(phonePage, "signed-out-by-a-password-change");
        }
        catch
        {
            TestContext.Current.TestOutputHelper?.WriteLine(laptopErrors.ToString());
            TestContext.Current.TestOutputHelper?.WriteLine(phoneErrors.ToString());
            await SaveFailureScreenshotAsync(laptopPage);
            throw;
        }

        laptopErrors.AssertNone();
        phoneErrors.AssertNone();
        Assert.Empty(Site.ApiExceptions);
    }

    /// <summary>
    /// Runs a scenario's steps; on a failure prints what the browser reported and saves a screenshot, and after the steps
    /// asserts that the browser reported nothing unexpected and that no exception escaped the API.
    /// </summary>
    private async Task RunScenarioAsync(IPage page, BrowserErrors errors, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch
        {
            TestContext.Current.TestOutputHelper?.WriteLine(errors.ToString());
            await SaveFailureScreenshotAsync(page);
            throw;
        }

        errors.AssertNone();
        Assert.Empty(Site.ApiExceptions);
    }

    private async Task<IBrowserContext> NewContextAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 900, Height = 720 },
            Locale = "en-US",
            TimezoneId = "UTC",
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(BrowserHost.TimeoutMilliseconds);
        return context;
    }

    private static ILocator Item(IPage page, string title) =>
        page.Locator("#items > li[data-item-id]").Filter(new LocatorFilterOptions
        {
            Has = page.GetByRole(AriaRole.Heading, new PageGetByRoleOptions { Name = title, Exact = true }),
        });

    private async Task LogInAsync(IPage page, BrowserErrors errors, string email, string password, bool expectRejection)
    {
        if (expectRejection)
        {
            errors.ExpectRejection(401, Site.ApiBaseUrl + "/auth/login");
        }

        await page.Locator("#login-email").FillAsync(email);
        await page.Locator("#login-password").FillAsync(password);
        await page.Locator("#login-form [type=submit]").ClickAsync();
        await Expect(page.Locator("#login-form")).Not.ToHaveAttributeAsync("aria-busy", "true");
    }

    private static async Task SaveFailureScreenshotAsync(IPage page)
    {
        try
        {
            await SaveScreenshotAsync(page, "failure");
        }
        catch (PlaywrightException exception)
        {
            // The test's own failure matters more than the picture of it.
            TestContext.Current.TestOutputHelper?.WriteLine("No failure screenshot: " + exception.Message);
        }
    }

    /// <summary>Saves a screenshot under the test output folder's TestResults/browser/, attaches it to the test and prints its path.</summary>
    private static async Task SaveScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "TestResults", "browser");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.AddAttachment(name + ".png", png, "image/png");
        TestContext.Current.TestOutputHelper?.WriteLine($"Screenshot: {path}");
    }
}

/// <summary>
/// The browser tests run after the other tests, on their own: Chromium needs a fair share of the two cores, and the tests
/// that race fifty Argon2id signups or edits should not have to share theirs with it.
/// </summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class BrowserTestsRunAlone;
