using Serverless.Functions.Tests.Mfa;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// Two-step sign-in in Chromium: set up from the account panel with the key shown as text (the test is the authenticator
/// app: MfaFlows computes the codes), the recovery codes shown once, then log out and sign in with the password and a
/// code, then with a recovery code, and that recovery code refused the second time.
/// </summary>
public sealed partial class WebPageTests
{
    [Fact(Timeout = 150_000)]
    public async Task Person_turns_on_two_step_sign_in_and_signs_in_with_a_code_then_a_recovery_code_which_works_once()
    {
        var email = AccountsTestExtensions.UniqueEmail("mfapage");
        var password = AccountsTestExtensions.GoodPassword;
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        await RunScenarioAsync(page, errors, async () =>
        {
            await page.GotoAsync(Site.PageUrl + "#signup");
            await SignUpAsync(page, email, password);

            // Set up: the password, then the QR code and the key as text; confirm with the current code.
            await Expect(page.Locator("#mfa-enrol-form")).ToBeVisibleAsync();
            await AssertAccessibleAsync(page, "#mfa-section");
            await page.Locator("#mfa-enrol-password").FillAsync(password);
            await page.Locator("#mfa-enrol-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#mfa-confirm-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#mfa-qr")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^data:image/svg\\+xml"));
            var secret = MfaFlows.FromBase32((await page.Locator("#mfa-secret").TextContentAsync())!);
            await AssertAccessibleAsync(page, "#mfa-section");
            await page.Locator("#mfa-confirm-code").FillAsync(MfaFlows.CodeAt(secret, DateTimeOffset.UtcNow));
            await page.Locator("#mfa-confirm-form [type=submit]").ClickAsync();

            // The recovery codes, shown once, with copy and download.
            var codes = page.Locator("#mfa-recovery-codes > li");
            await Expect(codes).ToHaveCountAsync(10);
            await Expect(page.Locator("#mfa-download")).ToHaveAttributeAsync("download", "recovery-codes.txt");
            var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#mfa-download").ClickAsync());
            Assert.Equal("recovery-codes.txt", download.SuggestedFilename);
            var recoveryCode = (await codes.First.TextContentAsync())!;
            var saved = await File.ReadAllTextAsync((await download.PathAsync())!);
            Assert.Contains(recoveryCode, saved, StringComparison.Ordinal);
            await AssertAccessibleAsync(page, "#mfa-section");
            await page.Locator("#mfa-codes-done").ClickAsync();
            await Expect(page.Locator("#mfa-codes")).ToBeHiddenAsync();
            await Expect(page.Locator("#mfa-manage-form")).ToBeVisibleAsync();
            await AssertAccessibleAsync(page, "#mfa-section");

            // Log out; the password alone now asks for a code: the next step's (the confirm used this one).
            await page.Locator("#logout-button").ClickAsync();
            await LogInAsync(page, errors, email, password, expectRejection: false);
            await Expect(page.Locator("#mfa-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#mfa-code")).ToHaveAttributeAsync("autocomplete", "one-time-code");
            await Expect(page.Locator("#mfa-code")).ToHaveAttributeAsync("inputmode", "numeric");
            await AssertAccessibleAsync(page, "#mfa-form");
            await page.Locator("#mfa-code").FillAsync(MfaFlows.CodeAt(secret, DateTimeOffset.UtcNow.AddSeconds(30)));
            await page.Locator("#mfa-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);

            // Log out; this time a recovery code.
            await page.Locator("#logout-button").ClickAsync();
            await LogInAsync(page, errors, email, password, expectRejection: false);
            await page.Locator("#mfa-use-recovery").ClickAsync();
            await Expect(page.Locator("#mfa-recovery-code")).ToBeFocusedAsync();
            await AssertAccessibleAsync(page, "#mfa-form");
            await page.Locator("#mfa-recovery-code").FillAsync(recoveryCode);
            await page.Locator("#mfa-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);

            // The same recovery code again: refused, and the page says so.
            await page.Locator("#logout-button").ClickAsync();
            await LogInAsync(page, errors, email, password, expectRejection: false);
            await page.Locator("#mfa-use-recovery").ClickAsync();
            await page.Locator("#mfa-recovery-code").FillAsync(recoveryCode);
            errors.ExpectRejection(401, Site.ApiBaseUrl + "/auth/login/mfa");
            await page.Locator("#mfa-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#mfa-error")).ToContainTextAsync("used already");
            await Expect(page.Locator("#signed-in-user")).ToBeHiddenAsync();
            await AssertAccessibleAsync(page, "#mfa-form");
        });
    }
}
