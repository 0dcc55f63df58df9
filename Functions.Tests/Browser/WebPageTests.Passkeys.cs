using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Serverless.Functions.Tests.Passkeys;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// The page's passkeys in Chromium with a CDP virtual authenticator (a platform authenticator: internal transport, resident
/// keys, user verification), against the page served at http://localhost:port, whose host is the relying-party id.
/// </summary>
public sealed partial class WebPageTests
{
    [Fact(Timeout = 150_000)]
    public async Task Person_signs_up_with_a_passkey_signs_in_with_it_adds_a_password_through_a_reset_and_removes_the_passkey()
    {
        var email = AccountsTestExtensions.UniqueEmail("passkeypage");
        const string password = "a password added after a passkey signup";
        await using var context = await NewContextAsync();
        // The reset mail's link is the bare page URL: point the page at the test API the way config.js allows without ?api=.
        await context.AddInitScriptAsync($"globalThis.__API_BASE_URL__ = {JsonSerializer.Serialize(Site.ApiBaseUrl.ToString())};");
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        var device = await VirtualAuthenticator.AddAsync(page);
        var passkeys = page.Locator("#passkeys > li[data-passkey-id]");
        var profileReads = 0;
        page.Request += (_, request) => profileReads += request.Method == "GET" && request.Url.EndsWith("/api/me", StringComparison.Ordinal) ? 1 : 0;
        await RunScenarioAsync(page, errors, async () =>
        {
            // Sign up with a passkey: an email and a display name, no password.
            await page.GotoAsync(Site.PageUrl + "#signup");
            await Expect(page.Locator("#passkey-signup")).ToBeVisibleAsync();
            await AssertAccessibleAsync(page, "#signup-form");
            await page.Locator("#signup-email").FillAsync(email);
            await page.Locator("#signup-display-name").FillAsync("Grace");
            await page.Locator("#passkey-signup").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync("Grace");
            await Expect(page.Locator("#verify-banner")).ToBeVisibleAsync();

            // The device holds one discoverable passkey for localhost, whose user handle is not the email.
            var credential = Assert.Single(await device.CredentialsAsync());
            Assert.True(credential.GetProperty("isResidentCredential").GetBoolean());
            Assert.Equal("localhost", credential.GetProperty("rpId").GetString());
            var userHandle = Convert.FromBase64String(credential.GetProperty("userHandle").GetString()!);
            Assert.DoesNotContain(email, Encoding.UTF8.GetString(userHandle), StringComparison.OrdinalIgnoreCase);

            // The account panel: the passkey, no password (so no password change, but the way to set one).
            await Expect(passkeys).ToHaveCountAsync(1);
            await Expect(passkeys.First.Locator(".passkey-name")).ToHaveTextAsync("Passkey");
            await Expect(page.Locator("#no-password")).ToBeVisibleAsync();
            await Expect(page.Locator("#password-form")).ToBeHiddenAsync();
            await AssertAccessibleAsync(page, "#account-panel");
            // The same in dark mode (the palette switches with prefers-color-scheme): contrast is checked again.
            await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
            await AssertAccessibleAsync(page, "#account-panel");
            await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Light });
            // The banner (emailVerified) and the panel (hasPassword) share one read of the profile.
            Assert.Equal(1, profileReads);

            // Rename it.
            await passkeys.First.Locator("[data-action=rename-passkey]").ClickAsync();
            await Expect(page.Locator("#passkey-rename-name")).ToBeFocusedAsync();
            await AssertAccessibleAsync(page, "#passkey-rename-dialog");
            await page.Locator("#passkey-rename-name").FillAsync("This laptop");
            await page.Locator("#passkey-rename-save").ClickAsync();
            await Expect(passkeys.First.Locator(".passkey-name")).ToHaveTextAsync("This laptop");
            await Expect(page.Locator("#passkeys-status")).ToContainTextAsync("renamed");
            await Expect(passkeys.First.Locator("[data-action=rename-passkey]")).ToBeFocusedAsync();
            await SaveScreenshotAsync(page, "passkey-only-account");

            // The only way in cannot be removed: the API's 409, said in the dialog, and the passkey stays.
            var passkeyId = await passkeys.First.GetAttributeAsync("data-passkey-id");
            await passkeys.First.Locator("[data-action=delete-passkey]").ClickAsync();
            await AssertAccessibleAsync(page, "#passkey-delete-dialog");
            errors.ExpectRejection(409, $"{Site.ApiBaseUrl}/me/passkeys/{passkeyId}");
            await page.Locator("#passkey-delete-confirm").ClickAsync();
            await Expect(page.Locator("#passkey-delete-error")).ToContainTextAsync("only way into your account");
            await page.Locator("#passkey-delete-cancel").ClickAsync();
            await Expect(passkeys).ToHaveCountAsync(1);

            // Log out; sign in with the passkey, no email typed.
            await page.Locator("#logout-button").ClickAsync();
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            await AssertAccessibleAsync(page, "#login-form");
            await SaveScreenshotAsync(page, "login-with-a-passkey");
            await page.Locator("#passkey-login").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync("Grace");
            await Expect(passkeys.First.Locator(".passkey-times")).ToContainTextAsync("last used");

            // A password through the reset mail the panel asks for; the link opened in this tab.
            await page.Locator("#set-password-link").ClickAsync();
            await Expect(page.Locator("#no-password-status")).ToContainTextAsync($"We sent a link to {email}");
            var resetLink = (await Mail.WaitForMailAsync(email, "Reset your")).Link("reset");
            await page.GotoAsync(resetLink.ToString());
            await Expect(page.Locator("#reset-form")).ToBeVisibleAsync();
            await page.Locator("#reset-new-password").FillAsync(password);
            await page.Locator("#reset-confirm-password").FillAsync(password);
            await page.Locator("#reset-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#status")).ToContainTextAsync("password has been changed");
            await Expect(page.Locator("#password-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#no-password")).ToBeHiddenAsync();

            // With a password, the passkey may go.
            await passkeys.First.Locator("[data-action=delete-passkey]").ClickAsync();
            await page.Locator("#passkey-delete-confirm").ClickAsync();
            await Expect(page.Locator("#passkeys-status")).ToContainTextAsync("removed");
            await Expect(passkeys).ToHaveCountAsync(0);
            await Expect(page.Locator("#passkeys-empty")).ToBeVisibleAsync();

            // The device still offers the passkey, but it signs nobody in now; the password does.
            await page.Locator("#logout-button").ClickAsync();
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            Assert.Single(await device.CredentialsAsync());
            errors.ExpectRejection(401, Site.ApiBaseUrl + "/auth/passkey");
            await page.Locator("#passkey-login").ClickAsync();
            await Expect(page.Locator("#login-error")).ToContainTextAsync("This passkey was not accepted.");
            await Expect(page.Locator("#account")).ToBeHiddenAsync();
            await LogInAsync(page, errors, email, password, expectRejection: false);
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync("Grace");
            await SaveScreenshotAsync(page, "passkey-account-with-a-password");
        });
    }

    [Fact(Timeout = 120_000)]
    public async Task Person_adds_a_passkey_to_a_password_account_and_a_passkey_only_account_is_deleted_with_its_passkey()
    {
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        var device = await VirtualAuthenticator.AddAsync(page);
        var passkeys = page.Locator("#passkeys > li[data-passkey-id]");
        await RunScenarioAsync(page, errors, async () =>
        {
            // A password account adds a passkey with a name.
            await page.GotoAsync(Site.PageUrl + "#signup");
            await SignUpAsync(page, AccountsTestExtensions.UniqueEmail("addpasskey"), AccountsTestExtensions.GoodPassword);
            await Expect(page.Locator("#passkeys-empty")).ToBeVisibleAsync();
            await Expect(page.Locator("#password-form")).ToBeVisibleAsync();
            await page.Locator("#passkey-add-name").FillAsync("Work laptop");
            await page.Locator("#passkey-add-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#passkeys-status")).ToContainTextAsync("Work laptop");
            await Expect(passkeys).ToHaveCountAsync(1);
            await Expect(passkeys.First.Locator(".passkey-name")).ToHaveTextAsync("Work laptop");

            // The same device again: the options exclude its passkey, the browser refuses, and the page says why.
            await page.Locator("#passkey-add-form [type=submit]").ClickAsync();
            await Expect(page.Locator("#passkey-add-error")).ToContainTextAsync("already has a passkey");
            await Expect(passkeys).ToHaveCountAsync(1);

            // A ceremony the person does not complete (no user verification): nothing is sent, and the page says so.
            await page.Locator("#logout-button").ClickAsync();
            await device.SetUserVerifiedAsync(false);
            await page.Locator("#passkey-login").ClickAsync();
            await Expect(page.Locator("#login-error")).ToContainTextAsync("No passkey was used");
            await device.SetUserVerifiedAsync(true);

            // A passkey-only account deletes itself with its passkey (no password field), and its passkey signs in no more.
            var email = AccountsTestExtensions.UniqueEmail("passkeyleaving");
            await page.Locator("#show-signup").ClickAsync();
            await page.Locator("#signup-email").FillAsync(email);
            await page.Locator("#passkey-signup").ClickAsync();
            await Expect(page.Locator("#signed-in-user")).ToContainTextAsync(email);
            await Expect(passkeys).ToHaveCountAsync(1);
            await device.PreferOnlyAsync(email);
            await page.Locator("#delete-account-button").ClickAsync();
            await Expect(page.Locator("#delete-account-form")).ToHaveAttributeAsync("aria-busy", "false");
            await Expect(page.Locator("#delete-account-password")).ToBeHiddenAsync();
            await Expect(page.Locator("#delete-account-submit")).ToHaveTextAsync("Confirm with passkey and delete");
            await AssertAccessibleAsync(page, "#delete-account-dialog");
            await page.Locator("#delete-account-confirmation").FillAsync("delete");
            var deletion = await page.RunAndWaitForResponseAsync(() => page.Locator("#delete-account-submit").ClickAsync(),
                response => response.Request.Method == "DELETE" && response.Url.EndsWith("/api/me", StringComparison.Ordinal));
            Assert.Equal(204, deletion.Status);
            await Expect(page.Locator("#signup-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#status")).ToContainTextAsync("deleted");

            Assert.Single(await device.CredentialsAsync());
            await page.Locator("#show-login").ClickAsync();
            errors.ExpectRejection(401, Site.ApiBaseUrl + "/auth/passkey");
            await page.Locator("#passkey-login").ClickAsync();
            await Expect(page.Locator("#login-error")).ToContainTextAsync("This passkey was not accepted.");
            await Expect(page.Locator("#account")).ToBeHiddenAsync();
        });
    }

    [Fact(Timeout = 120_000)]
    public async Task Without_WebAuthn_the_page_hides_what_needs_it_and_still_lists_passkeys()
    {
        await using var context = await NewContextAsync();
        // A browser without WebAuthn (or without its JSON helpers): the page must not offer ceremonies it cannot run.
        await context.AddInitScriptAsync("delete window.PublicKeyCredential;");
        var page = await context.NewPageAsync();
        var errors = new BrowserErrors(page);
        await RunScenarioAsync(page, errors, async () =>
        {
            await page.GotoAsync(Site.PageUrl);
            await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
            await Expect(page.Locator("#passkey-login")).ToBeHiddenAsync();
            await page.Locator("#show-signup").ClickAsync();
            await Expect(page.Locator("#passkey-signup")).ToBeHiddenAsync();

            // A passkey registered elsewhere is listed (and could be renamed or removed) here; adding one is not offered.
            var email = AccountsTestExtensions.UniqueEmail("nowebauthn");
            await SignUpAsync(page, email, AccountsTestExtensions.GoodPassword);
            var login = await App.LoginAsync(email);
            using var elsewhere = new SoftwareAuthenticator();
            var token = login.Json.GetProperty("accessToken").GetString()!;
            var options = await App.RegistrationOptionsAsync(token);
            var registered = await App.SendRegistrationAsync(token, elsewhere.Create(options, Site.WebOrigin.GetLeftPart(UriPartial.Authority)), "Phone");
            Assert.True(registered.Status == 201, registered.ToString());
            await page.ReloadAsync();
            await Expect(page.Locator("#passkeys > li[data-passkey-id] .passkey-name")).ToHaveTextAsync("Phone");
            await Expect(page.Locator("#passkey-add-form")).ToBeHiddenAsync();
        });
    }

    /// <summary>Chromium's virtual WebAuthn authenticator for one page, through the DevTools protocol.</summary>
    private sealed class VirtualAuthenticator(ICDPSession session, string authenticatorId)
    {
        public static async Task<VirtualAuthenticator> AddAsync(IPage page)
        {
            var session = await page.Context.NewCDPSessionAsync(page);
            await session.SendAsync("WebAuthn.enable", new Dictionary<string, object> { ["enableUI"] = false });
            var added = await session.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
            {
                ["options"] = new Dictionary<string, object>
                {
                    ["protocol"] = "ctap2",
                    ["transport"] = "internal",
                    ["hasResidentKey"] = true,
                    ["hasUserVerification"] = true,
                    ["isUserVerified"] = true,
                    ["automaticPresenceSimulation"] = true,
                },
            });
            return new VirtualAuthenticator(session, added!.Value.GetProperty("authenticatorId").GetString()!);
        }

        public async Task<IReadOnlyList<JsonElement>> CredentialsAsync()
        {
            var result = await session.SendAsync("WebAuthn.getCredentials", new Dictionary<string, object> { ["authenticatorId"] = authenticatorId });
            return [.. result!.Value.GetProperty("credentials").EnumerateArray().Select(credential => credential.Clone())];
        }

        public async Task SetUserVerifiedAsync(bool verified) =>
            await session.SendAsync("WebAuthn.setUserVerified", new Dictionary<string, object> { ["authenticatorId"] = authenticatorId, ["isUserVerified"] = verified });

        /// <summary>
        /// Leaves only the passkey whose user name is <paramref name="userName"/> on the device, so a discoverable sign-in
        /// uses that one (the virtual authenticator has no account chooser).
        /// </summary>
        public async Task PreferOnlyAsync(string userName)
        {
            foreach (var credential in await CredentialsAsync())
            {
                if (credential.TryGetProperty("userName", out var name) && name.GetString() == userName)
                {
                    continue;
                }

                await session.SendAsync("WebAuthn.removeCredential", new Dictionary<string, object>
                {
                    ["authenticatorId"] = authenticatorId,
                    ["credentialId"] = credential.GetProperty("credentialId").GetString()!,
                });
            }

            Assert.Single(await CredentialsAsync());
        }
    }
}
