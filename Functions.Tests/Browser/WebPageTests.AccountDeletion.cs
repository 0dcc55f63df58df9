using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

public sealed partial class WebPageTests
{
    [Fact(Timeout = 120_000)]
    public async Task Person_deletes_their_account_returns_to_sign_up_and_the_same_email_signs_up_again()
    {
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        var email = AccountsTestExtensions.UniqueEmail("leaving");
        var password = AccountsTestExtensions.GoodPassword;
        await RunScenarioAsync(page, errors, async () =>
        {
            await page.GotoAsync(Site.PageUrl + "#signup");
            await SignUpAsync(page, email, password);
            await page.Locator("#item-title").FillAsync("Left behind");
            await page.Locator("#item-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#items > li[data-item-id] .item-title").First).ToHaveTextAsync("Left behind");

            // The typed confirmation guards the button: a wrong one sends nothing.
            await page.Locator("#delete-account-button").ClickAsync();
            await Expect(page.Locator("#delete-account-dialog")).ToBeVisibleAsync();
            await page.Locator("#delete-account-confirmation").FillAsync("not my email");
            await page.Locator("#delete-account-password").FillAsync(password);
            await page.Locator("#delete-account-submit").ClickAsync();
            await Expect(page.Locator("#delete-account-confirmation-error")).Not.ToBeEmptyAsync();

            // A wrong password is the API's 400, shown at the field; the account stays.
            await page.Locator("#delete-account-confirmation").FillAsync(email.ToUpperInvariant());
            await page.Locator("#delete-account-password").FillAsync("not the password at all");
            errors.ExpectRejection(400, Site.ApiBaseUrl + "/me");
            await page.Locator("#delete-account-submit").ClickAsync();
            await Expect(page.Locator("#delete-account-password-error")).ToContainTextAsync("incorrect");

            // The right password: deleted, and the page is back at sign-up.
            await page.Locator("#delete-account-password").FillAsync(password);
            var deletion = await page.RunAndWaitForResponseAsync(() => page.Locator("#delete-account-submit").ClickAsync(),
                response => response.Request.Method == "DELETE" && response.Url.EndsWith("/api/me", StringComparison.Ordinal));
            Assert.Equal(204, deletion.Status);
            await Expect(page.Locator("#signup-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#delete-account-dialog")).ToBeHiddenAsync();
            await Expect(page.Locator("#account")).ToBeHiddenAsync();
            await Expect(page.Locator("#status")).ToContainTextAsync("deleted");

            // The same email signs up again at once, into an empty account.
            await SignUpAsync(page, email, password);
            await Expect(page.Locator("#items-empty")).ToBeVisibleAsync();
        });
    }

    private static async Task SignUpAsync(IPage page, string email, string password)
    {
        await Expect(page.Locator("#signup-form")).ToBeVisibleAsync();
        await page.Locator("#signup-email").FillAsync(email);
        await page.Locator("#signup-password").FillAsync(password);
        await page.Locator("#signup-form [type=submit]").ClickAsync();
        await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);
    }
}
