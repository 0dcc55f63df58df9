using System.Text.Json;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// The page's mail features end to end: the app sends real mails to the tests' smtp4dev with links to the page as served
/// here (<c>Mail:PageOrigin</c> is the page's origin), and the test opens those links in the browser as a person would.
/// </summary>
public sealed partial class WebPageTests
{
    private Smtp4devServer? mailServer;

    private Smtp4devServer Mail => mailServer ?? throw new InvalidOperationException("Not initialized.");

    protected override async Task<IDictionary<string, string?>> AppSettingsAsync(Uri pageOrigin)
    {
        mailServer = await Smtp4devServer.GetAsync();
        return mailServer.Settings;
    }

    [Fact(Timeout = 120_000)]
    public async Task Person_verifies_the_email_and_resets_a_forgotten_password_through_the_links_in_the_mails()
    {
        const string newPassword = "a fresh passphrase from the reset mail";
        const string attackerPassword = "what a replayed link tries to set";
        var email = AccountsTestExtensions.UniqueEmail("mailpage");
        var oldPassword = AccountsTestExtensions.GoodPassword;
        await using var context = await NewContextAsync();
        // A mail's link is the page's bare URL, without ?api=: point the page at the test API the other way config.js allows.
        await context.AddInitScriptAsync($"globalThis.__API_BASE_URL__ = {JsonSerializer.Serialize(Site.ApiBaseUrl.ToString())};");
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        BrowserErrors? tabErrors = null;
        try
        {
            // Sign up: the banner asks to verify the address; "Send again" within the signup mail's minute is refused.
            await page.GotoAsync(Site.PageUrl + "#signup");
            await SignUpAsync(page, email, oldPassword);
            await Expect(page.Locator("#verify-banner")).ToBeVisibleAsync();
            await Expect(page.Locator("#verify-banner-email")).ToHaveTextAsync(email);
            errors.ExpectRejection(429, Site.ApiBaseUrl + "/me/verification-email");
            await page.Locator("#verify-send-again").ClickAsync();
            await Expect(page.Locator("#verify-banner-status")).ToContainTextAsync("wait a minute");
            await SaveScreenshotAsync(page, "verify-banner");
            await AssertAccessibleAsync(page, "#verify-banner");

            // The verification mail's link, opened in this tab: verified, banner gone, the token gone from the address bar.
            var verifyLink = (await Mail.WaitForMailAsync(email, "Confirm your email")).Link("verify");
            Assert.Equal(Origin(Site.WebOrigin), Origin(verifyLink));
            await page.GotoAsync(verifyLink.ToString());
            await Expect(page.Locator("#notice")).ToContainTextAsync("verified");
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);
            await Expect(page.Locator("#verify-banner")).ToBeHiddenAsync();
            Assert.DoesNotContain("#", page.Url, StringComparison.Ordinal);
            var login = await App.LoginAsync(email, oldPassword);
            Assert.Equal(200, login.Status);
            var me = await App.GetAsync("/api/me", login.Json.GetProperty("accessToken").GetString());
            Assert.True(me.Json.GetProperty("emailVerified").GetBoolean());

            // The same verification link again (the page is open, so only the fragment changes): used, and the page says so.
            errors.ExpectRejection(400, Site.ApiBaseUrl + "/auth/verify-email");
            await page.GotoAsync(verifyLink.ToString());
            await Expect(page.Locator("#notice")).ToContainTextAsync("already used");
            await Expect(page.Locator("#verify-banner")).ToBeHiddenAsync();
            Assert.DoesNotContain("#", page.Url, StringComparison.Ordinal);

            // Log out, "Forgot password?": the same neutral answer for an unknown email and for the real one.
            await page.Locator("#logout-button").ClickAsync();
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            await page.Locator("#show-forgot").ClickAsync();
            await Expect(page.Locator("#forgot-heading")).ToBeFocusedAsync();
            await AssertAccessibleAsync(page, "#forgot-form");
            var nobody = AccountsTestExtensions.UniqueEmail("nobody");
            foreach (var address in new[] { nobody, email })
            {
                await page.Locator("#forgot-email").FillAsync(address);
                await page.Locator("#forgot-form [type=submit]").ClickAsync();
                await Expect(page.Locator("#forgot-status")).ToHaveTextAsync(
                    $"If an account exists for {address}, a mail with a link to choose a new password is on its way. The link works once, for 30 minutes.");
            }

            // The reset mail's link, opened as a mail client does, in a new tab (a page load, no session in that tab): the form
            // to choose a new password, the token already gone from the address bar.
            var resetLink = (await Mail.WaitForMailAsync(email, "Reset your")).Link("reset");
            var tab = await context.NewPageAsync();
            tabErrors = new BrowserErrors(tab);
            var opened = await tab.GotoAsync(resetLink.ToString());
            // Nothing the page loads or links to learns the page's address (the fragment is never sent anyway).
            Assert.Equal("no-referrer", await opened!.HeaderValueAsync("Referrer-Policy"));
            await Expect(tab.Locator("meta[name=referrer]")).ToHaveAttributeAsync("content", "no-referrer");
            await Expect(tab.Locator("#reset-form")).ToBeVisibleAsync();
            await Expect(tab.Locator("#reset-new-password")).ToBeFocusedAsync();
            Assert.DoesNotContain("reset=", tab.Url, StringComparison.Ordinal);
            Assert.DoesNotContain("reset=", await tab.EvaluateAsync<string>("() => location.href"), StringComparison.Ordinal);
            await AssertAccessibleAsync(tab, "#reset-form");

            // Two different passwords are caught on the page; then the new one: signed in, with the reset's session.
            await tab.Locator("#reset-new-password").FillAsync(newPassword);
            await tab.Locator("#reset-confirm-password").FillAsync(newPassword + " typo");
            await tab.Locator("#reset-form [type=submit]").ClickAsync();
            await Expect(tab.Locator("#reset-confirm-password-error")).Not.ToBeEmptyAsync();
            await Expect(tab.Locator("#reset-confirm-password")).ToBeFocusedAsync();
            await tab.Locator("#reset-confirm-password").FillAsync(newPassword);
            await tab.Locator("#reset-form [type=submit]").ClickAsync();
            await Expect(tab.Locator("#signed-in-user")).ToContainTextAsync(email);
            await Expect(tab.Locator("#items-view")).ToBeVisibleAsync();
            await Expect(tab.Locator("#status")).ToContainTextAsync("password has been changed");
            await Expect(tab.Locator("#verify-banner")).ToBeHiddenAsync();
            Assert.NotNull(await tab.EvaluateAsync<string?>("() => sessionStorage.getItem('items.refreshToken')"));
            await tab.Locator("#logout-button").ClickAsync();
            await Expect(tab.Locator("#login-form")).ToBeVisibleAsync();
            await tab.CloseAsync();

            // The attacker's replay: the same link again, here in the first tab (the page is open there, so only the fragment
            // changes), is spent. It shows so, offers a new mail, and signs nobody in.
            await page.GotoAsync(resetLink.ToString());
            await Expect(page.Locator("#reset-form")).ToBeVisibleAsync();
            Assert.DoesNotContain("reset=", page.Url, StringComparison.Ordinal);
            await page.Locator("#reset-new-password").FillAsync(attackerPassword);
            await page.Locator("#reset-confirm-password").FillAsync(attackerPassword);
            errors.ExpectRejection(400, Site.ApiBaseUrl + "/auth/password-reset/confirm");
            await page.Locator("#reset-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#reset-error")).ToContainTextAsync("already used");
            await Expect(page.Locator("#reset-request-new")).ToBeFocusedAsync();
            await SaveScreenshotAsync(page, "reset-link-spent");
            await Expect(page.Locator("#account")).ToBeHiddenAsync();
            await Expect(page.Locator("#items-view")).ToBeHiddenAsync();
            Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('items.refreshToken')"));
            await page.Locator("#reset-request-new").ClickAsync();
            await Expect(page.Locator("#forgot-form")).ToBeVisibleAsync();

            // Only the password set through the first use of the link logs in.
            await page.Locator("#forgot-show-login").ClickAsync();
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            await LogInAsync(page, errors, email, oldPassword, expectRejection: true);
            await Expect(page.Locator("#login-error")).ToHaveTextAsync(GenericLoginError);
            await LogInAsync(page, errors, email, attackerPassword, expectRejection: true);
            await Expect(page.Locator("#login-error")).ToHaveTextAsync(GenericLoginError);
            await LogInAsync(page, errors, email, newPassword, expectRejection: false);
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);
            await Expect(page.Locator("#items-view")).ToBeVisibleAsync();
            await SaveScreenshotAsync(page, "signed-in-after-a-password-reset");
        }
        catch
        {
            TestContext.Current.TestOutputHelper?.WriteLine(errors.ToString());
            TestContext.Current.TestOutputHelper?.WriteLine(tabErrors?.ToString() ?? "");
            await SaveFailureScreenshotAsync(page);
            throw;
        }

        errors.AssertNone();
        tabErrors?.AssertNone();
        Assert.Empty(Site.ApiExceptions);
    }

    private static string Origin(Uri uri) => uri.GetLeftPart(UriPartial.Authority);

    /// <summary>axe-core's rules on the part of the page that <paramref name="selector"/> picks: no violations.</summary>
    private static async Task AssertAccessibleAsync(IPage page, string selector)
    {
        var result = await page.Locator(selector).RunAxe();
        Assert.True(result.Violations.Length == 0,
            "axe-core found: " + string.Join("; ", result.Violations.Select(violation =>
                $"{violation.Id} ({violation.Impact}): {violation.Help} at {string.Join(", ", violation.Nodes.Select(node => node.Target))}")));
    }
}
