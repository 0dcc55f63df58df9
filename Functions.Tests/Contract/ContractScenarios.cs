// Over ~300 lines on purpose: one list drives every route to every status it can produce, so the contract tests see
// the whole API's answers in one place.
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Tests.Passkeys;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>One request sent through the real function classes, with the route template it matched and the answer.</summary>
public sealed record Exchange(string Scenario, string Method, string Path, TestResponse Response)
{
    public override string ToString() => $"{Method} {Path} ({Scenario}) -> {Response.Status}";
}

/// <summary>
/// Drives every route of the API through <see cref="TestApp"/> to every status it can produce: successes, each kind of
/// refused request, storage outages (a storage account that does not answer) and an unexpected error (a clock that throws).
/// </summary>
public sealed partial class ContractScenarios
{
    private const string DeadStorage =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";

    private const string Json = "application/json";
    private static readonly string TooLarge = JsonSerializer.Serialize(new { title = new string('a', 70 * 1024) });

    private readonly List<Exchange> exchanges = [];

    public static async Task<IReadOnlyList<Exchange>> RunAsync(string connectionString)
    {
        var scenarios = new ContractScenarios();
        SignedInUser ada;
        string itemId;
        await using (var app = TestApp.Create(connectionString))
        {
            ada = await scenarios.AccountsAsync(app);
            itemId = await scenarios.ItemsAsync(app, ada);
            await scenarios.AccountDeletionAsync(app);
            await scenarios.OperationsAsync(app);
            await scenarios.SessionsAsync(app);
            await scenarios.PasskeysAsync(app);
        }

        await using (var app = TestApp.Create(connectionString, MfaClock))
        {
            await scenarios.MfaAsync(app);
        }

        var mail = await Smtp4devServer.GetAsync();
        await using (var app = TestApp.Create(connectionString, mail.Settings))
        {
            await scenarios.MailAsync(app, mail);
        }

        await using (var down = TestApp.Create(DeadStorage))
        {
            await scenarios.OutagesAsync(down, ada, itemId);
            await scenarios.SessionOutagesAsync(down, ada);
            await scenarios.MailOutagesAsync(down, ada);
            await scenarios.PasskeyOutagesAsync(down, ada);
            await scenarios.MfaOutagesAsync(down, ada);
        }

        await using (var broken = TestApp.Create(connectionString, configureServices: services => services.AddSingleton<TimeProvider>(new BrokenClock())))
        {
            await scenarios.SendAsync(broken, "unexpected error", "POST", "/api/auth/signup",
                Serialize(new { email = AccountsTestExtensions.UniqueEmail("broken"), password = AccountsTestExtensions.GoodPassword }), Json);
        }

        await using (var limited = TestApp.Create(connectionString, new Dictionary<string, string?>
        {
            ["Limits:SignupsPerClientPerHour"] = "1",
            ["Limits:FailedLoginsPerClientPerHour"] = "1",
            ["Limits:MaxHashesInFlight"] = "1",
            ["Limits:PasskeyCeremoniesPerClientPerHour"] = "2",
        }))
        {
            await scenarios.LimitsAsync(limited);
        }

        return scenarios.exchanges;
    }

    // docs/api.md's abuse limits: the client address's signups and failed logins, and the instance's hashes in flight.
    private async Task LimitsAsync(TestApp app)
    {
        var attacker = TestApp.Client("203.0.113.66");
        var bystander = TestApp.Client("203.0.113.67");
        string Signup() => Serialize(new { email = AccountsTestExtensions.UniqueEmail("limited"), password = AccountsTestExtensions.GoodPassword });
        var guess = Serialize(new { email = AccountsTestExtensions.UniqueEmail("limited"), password = "a guess that will not work" });
        await SendAsync(app, "signup from an address", "POST", "/api/auth/signup", Signup(), Json, from: attacker);
        await SendAsync(app, "signup over the address's limit", "POST", "/api/auth/signup", Signup(), Json, from: attacker);
        await SendAsync(app, "failed login from an address", "POST", "/api/auth/login", guess, Json, from: attacker);
        await SendAsync(app, "login over the address's failed-login limit", "POST", "/api/auth/login", guess, Json, from: attacker);
        // The attacker's one signup and one failed login are spent: a passkey signup and sign-in are refused too, and the
        // third anonymous passkey ceremony is over its limit of 2.
        using (var authenticator = new SoftwareAuthenticator())
        {
            var options = await SendAsync(app, "passkey signup options from an address", "POST", "/api/auth/signup/passkey/options",
                Serialize(new { email = AccountsTestExtensions.UniqueEmail("limited") }), Json, from: attacker);
            await SendAsync(app, "passkey signup over the address's signup limit", "POST", "/api/auth/signup/passkey",
                Serialize(new { credential = authenticator.Create(options.Json, PasskeyFlows.Origin) }), Json, from: attacker);
            var signIn = await SendAsync(app, "passkey sign-in options from an address", "POST", "/api/auth/passkey/options", from: attacker);
            await SendAsync(app, "passkey sign-in over the address's failed-login limit", "POST", "/api/auth/passkey",
                Serialize(new { credential = authenticator.Get(signIn.Json, PasskeyFlows.Origin) }), Json, from: attacker);
            await SendAsync(app, "passkey sign-in options over the address's limit", "POST", "/api/auth/passkey/options", from: attacker);
            await SendAsync(app, "passkey signup options over the address's limit", "POST", "/api/auth/signup/passkey/options",
                Serialize(new { email = AccountsTestExtensions.UniqueEmail("limited") }), Json, from: attacker);
        }

        using (app.Services.GetRequiredService<Functions.Limits.HashSlots>().TryTake())
        {
            await SendAsync(app, "signup while every hash slot is taken", "POST", "/api/auth/signup", Signup(), Json, from: bystander);
            await SendAsync(app, "login while every hash slot is taken", "POST", "/api/auth/login", guess, Json, from: bystander);
        }
    }

    private async Task<SignedInUser> AccountsAsync(TestApp app)
    {
        var email = AccountsTestExtensions.UniqueEmail("contract");
        var credentials = Serialize(new { email, password = AccountsTestExtensions.GoodPassword });
        var signup = await SendAsync(app, "signup", "POST", "/api/auth/signup", Serialize(new { email, password = AccountsTestExtensions.GoodPassword, displayName = "Ada" }), Json);
        var ada = SignedInUser.From(email, signup.Json);
        await SendAsync(app, "signup without a display name", "POST", "/api/auth/signup",
            Serialize(new { email = AccountsTestExtensions.UniqueEmail("nameless"), password = AccountsTestExtensions.GoodPassword }), Json);
        await SendAsync(app, "signup with a taken email", "POST", "/api/auth/signup", Serialize(new { email = email.ToUpperInvariant(), password = AccountsTestExtensions.GoodPassword }), Json);
        await SendAsync(app, "signup with a common password", "POST", "/api/auth/signup", Serialize(new { email = AccountsTestExtensions.UniqueEmail(), password = "password" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/signup");

        var login = await SendAsync(app, "login", "POST", "/api/auth/login", credentials, Json);
        await SendAsync(app, "login with a wrong password", "POST", "/api/auth/login", Serialize(new { email, password = "not the password at all" }), Json);
        await SendAsync(app, "login without a password", "POST", "/api/auth/login", Serialize(new { email }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/login");
        var stranger = Serialize(new { email = AccountsTestExtensions.UniqueEmail("stranger"), password = "a guess that will not work" });
        for (var attempt = 0; attempt < 6; attempt++)
        {
            await SendAsync(app, "login until throttled", "POST", "/api/auth/login", stranger, Json);
        }

        var refreshToken = login.Json.GetProperty("refreshToken").GetString()!;
        var refreshed = await SendAsync(app, "refresh", "POST", "/api/auth/refresh", Serialize(new { refreshToken }), Json);
        await SendAsync(app, "refresh with an unknown token", "POST", "/api/auth/refresh", Serialize(new { refreshToken = "not-a-token" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/refresh");

        await SendAsync(app, "logout", "POST", "/api/auth/logout", Serialize(new { refreshToken = refreshed.Json.GetProperty("refreshToken").GetString() }), Json);
        await SendAsync(app, "logout with an unknown token", "POST", "/api/auth/logout", Serialize(new { refreshToken = "not-a-token" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/logout");

        await SendAsync(app, "me", "GET", "/api/me", bearer: ada.AccessToken);
        await SendAsync(app, "me without a token", "GET", "/api/me");
        await SendAsync(app, "me with a forged token", "GET", "/api/me", bearer: ada.AccessToken[..^4] + "AAAA");
        return ada;
    }

    private async Task<string> ItemsAsync(TestApp app, SignedInUser ada)
    {
        var grace = await app.NewUserAsync("grace");
        await SendAsync(app, "create an item without a description", "POST", "/api/items", Serialize(new { title = "Call Grace" }), Json, ada.AccessToken);
        var created = await SendAsync(app, "create an item", "POST", "/api/items", Serialize(new { title = "Buy milk", description = "Two litres." }), Json, ada.AccessToken);
        var id = created.Json.GetProperty("id").GetString()!;
        var etag = created.Header("ETag")!;
        await SendAsync(app, "create an item with an empty title", "POST", "/api/items", Serialize(new { title = " ", description = (string?)null }), Json, ada.AccessToken);
        await SendAsync(app, "create an item without a token", "POST", "/api/items", Serialize(new { title = "Nope" }), Json);
        await BadBodiesAsync(app, "POST", "/api/items", ada.AccessToken);

        var first = await SendAsync(app, "list the first page", "GET", "/api/items?limit=1", bearer: ada.AccessToken);
        await SendAsync(app, "list the last page", "GET", "/api/items?limit=1&cursor=" + Uri.EscapeDataString(first.Json.GetProperty("nextCursor").GetString()!), bearer: ada.AccessToken);
        await SendAsync(app, "list with the default limit", "GET", "/api/items", bearer: ada.AccessToken);
        await SendAsync(app, "list with a limit out of range", "GET", "/api/items?limit=0", bearer: ada.AccessToken);
        await SendAsync(app, "list with a made-up cursor", "GET", "/api/items?cursor=made-up", bearer: ada.AccessToken);
        await SendAsync(app, "list without a token", "GET", "/api/items");

        await SendAsync(app, "get an item", "GET", "/api/items/" + id, bearer: ada.AccessToken);
        await SendAsync(app, "get another user's item", "GET", "/api/items/" + id, bearer: grace.AccessToken);
        await SendAsync(app, "get an item without a token", "GET", "/api/items/" + id);

        var update = Serialize(new { title = "Buy oat milk", description = (string?)null });
        var updated = await SendAsync(app, "update an item", "PUT", "/api/items/" + id, update, Json, ada.AccessToken, IfMatch(etag));
        await SendAsync(app, "update with a stale ETag", "PUT", "/api/items/" + id, update, Json, ada.AccessToken, IfMatch(etag));
        await SendAsync(app, "update another user's item", "PUT", "/api/items/" + id, update, Json, grace.AccessToken);
        await SendAsync(app, "update with an empty title", "PUT", "/api/items/" + id, Serialize(new { title = "" }), Json, ada.AccessToken);
        await SendAsync(app, "update without a token", "PUT", "/api/items/" + id, update, Json);
        await BadBodiesAsync(app, "PUT", "/api/items/" + id, ada.AccessToken);

        await SendAsync(app, "delete with a stale ETag", "DELETE", "/api/items/" + id, bearer: ada.AccessToken, headers: IfMatch(etag));
        await SendAsync(app, "delete another user's item", "DELETE", "/api/items/" + id, bearer: grace.AccessToken);
        await SendAsync(app, "delete without a token", "DELETE", "/api/items/" + id);
        await SendAsync(app, "delete an item", "DELETE", "/api/items/" + id, bearer: ada.AccessToken, headers: IfMatch(updated.Header("ETag")!));
        await SendAsync(app, "delete it again", "DELETE", "/api/items/" + id, bearer: ada.AccessToken);

        var keyed = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };
        var keyedBody = Serialize(new { title = "Keyed" });
        var keyedItem = await SendAsync(app, "create with an Idempotency-Key", "POST", "/api/items", keyedBody, Json, ada.AccessToken, keyed);
        await SendAsync(app, "repeat a create with its Idempotency-Key", "POST", "/api/items", keyedBody, Json, ada.AccessToken, keyed);
        await SendAsync(app, "reuse an Idempotency-Key with another body", "POST", "/api/items", Serialize(new { title = "Other" }), Json, ada.AccessToken, keyed);
        await SendAsync(app, "create with a malformed Idempotency-Key", "POST", "/api/items", keyedBody, Json, ada.AccessToken,
            new Dictionary<string, string> { ["Idempotency-Key"] = "no spaces allowed" });
        await SendAsync(app, "delete the keyed item", "DELETE", keyedItem.Header("Location")!, bearer: ada.AccessToken);
        await SendAsync(app, "repeat a create whose item was deleted", "POST", "/api/items", keyedBody, Json, ada.AccessToken, keyed);
        return id;
    }

    private async Task MailAsync(TestApp app, Smtp4devServer mail)
    {
        var user = await app.NewUserAsync("mail");
        var verifyToken = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");
        await SendAsync(app, "send the verification again within a minute", "POST", "/api/me/verification-email", bearer: user.AccessToken);
        await SendAsync(app, "send the verification again without a token", "POST", "/api/me/verification-email");
        await SendAsync(app, "verify the email", "POST", "/api/auth/verify-email", Serialize(new { token = verifyToken }), Json);
        await SendAsync(app, "send the verification again once verified", "POST", "/api/me/verification-email", bearer: user.AccessToken);
        await SendAsync(app, "verify with a used token", "POST", "/api/auth/verify-email", Serialize(new { token = verifyToken }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/verify-email");

        await SendAsync(app, "ask for a password reset", "POST", "/api/auth/password-reset", Serialize(new { email = user.Email }), Json);
        await SendAsync(app, "ask for a password reset of an unknown email", "POST", "/api/auth/password-reset",
            Serialize(new { email = AccountsTestExtensions.UniqueEmail("nobody") }), Json);
        await SendAsync(app, "ask for a password reset with a malformed email", "POST", "/api/auth/password-reset", Serialize(new { email = "not an email" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/password-reset");
        for (var i = 0; i <= new Functions.Mail.MailOptions { PageOrigin = new("https://x.example"), SenderAddress = "a@b.example" }.ResetRequestsPerClientPerHour; i++)
        {
            await SendAsync(app, "ask for password resets from one client until refused", "POST", "/api/auth/password-reset",
                Serialize(new { email = AccountsTestExtensions.UniqueEmail("flood") }), Json, from: TestApp.Client("192.0.2.1"));
        }

        var resetToken = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");
        await SendAsync(app, "reset with a weak password", "POST", "/api/auth/password-reset/confirm", Serialize(new { token = resetToken, newPassword = "short" }), Json);
        await SendAsync(app, "reset the password", "POST", "/api/auth/password-reset/confirm",
            Serialize(new { token = resetToken, newPassword = "a new long passphrase of mine" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/password-reset/confirm");
    }

    private async Task MailOutagesAsync(TestApp down, SignedInUser ada)
    {
        var token = Serialize(new { token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", newPassword = "a new long passphrase of mine" });
        await SendAsync(down, "verify while storage is down", "POST", "/api/auth/verify-email", token, Json);
        await SendAsync(down, "send the verification while storage is down", "POST", "/api/me/verification-email", bearer: ada.AccessToken);
        await SendAsync(down, "ask for a reset while storage is down", "POST", "/api/auth/password-reset", Serialize(new { email = ada.Email }), Json);
        await SendAsync(down, "reset while storage is down", "POST", "/api/auth/password-reset/confirm", token, Json);
    }

    private async Task AccountDeletionAsync(TestApp app)
    {
        var leaving = await app.NewUserAsync("leaving");
        var password = Serialize(new { password = AccountsTestExtensions.GoodPassword });
        await SendAsync(app, "delete the account with a wrong password", "DELETE", "/api/me", Serialize(new { password = "not the password at all" }), Json, leaving.AccessToken);
        await SendAsync(app, "delete the account without a password", "DELETE", "/api/me", "{}", Json, leaving.AccessToken);
        await SendAsync(app, "delete the account without a token", "DELETE", "/api/me", password, Json);
        await BadBodiesAsync(app, "DELETE", "/api/me", leaving.AccessToken);
        await SendAsync(app, "delete the account", "DELETE", "/api/me", password, Json, leaving.AccessToken);
        await SendAsync(app, "delete the deleted account", "DELETE", "/api/me", password, Json, leaving.AccessToken);
        await SendAsync(app, "list the items of a deleted account", "GET", "/api/items", bearer: leaving.AccessToken);
        await SendAsync(app, "create an item in a deleted account", "POST", "/api/items", Serialize(new { title = "Too late" }), Json, leaving.AccessToken);

        var guessed = await app.NewUserAsync("guessed");
        for (var attempt = 0; attempt < 6; attempt++)
        {
            await SendAsync(app, "delete the account until throttled", "DELETE", "/api/me", Serialize(new { password = "a guess that will not work" }), Json, guessed.AccessToken);
        }
    }

    private async Task OperationsAsync(TestApp app)
    {
        await SendAsync(app, "health", "GET", "/api/health");
        var document = await SendAsync(app, "the OpenAPI document", "GET", "/api/openapi.json");
        await SendAsync(app, "the OpenAPI document, revalidated", "GET", "/api/openapi.json", headers: new() { ["If-None-Match"] = document.Header("ETag")! });
    }

    private async Task OutagesAsync(TestApp down, SignedInUser ada, string itemId)
    {
        var item = Serialize(new { title = "Stored later" });
        var session = Serialize(new { refreshToken = ada.RefreshToken });
        await SendAsync(down, "signup while storage is down", "POST", "/api/auth/signup",
            Serialize(new { email = AccountsTestExtensions.UniqueEmail("down"), password = AccountsTestExtensions.GoodPassword }), Json);
        await SendAsync(down, "login while storage is down", "POST", "/api/auth/login", Serialize(new { email = ada.Email, password = AccountsTestExtensions.GoodPassword }), Json);
        await SendAsync(down, "refresh while storage is down", "POST", "/api/auth/refresh", session, Json);
        await SendAsync(down, "logout while storage is down", "POST", "/api/auth/logout", session, Json);
        await SendAsync(down, "me while storage is down", "GET", "/api/me", bearer: ada.AccessToken);
        await SendAsync(down, "list while storage is down", "GET", "/api/items", bearer: ada.AccessToken);
        await SendAsync(down, "create while storage is down", "POST", "/api/items", item, Json, ada.AccessToken);
        await SendAsync(down, "get while storage is down", "GET", "/api/items/" + itemId, bearer: ada.AccessToken);
        await SendAsync(down, "update while storage is down", "PUT", "/api/items/" + itemId, item, Json, ada.AccessToken);
        await SendAsync(down, "delete while storage is down", "DELETE", "/api/items/" + itemId, bearer: ada.AccessToken);
        await SendAsync(down, "delete the account while storage is down", "DELETE", "/api/me", Serialize(new { password = AccountsTestExtensions.GoodPassword }), Json, ada.AccessToken);
        await SendAsync(down, "health while storage is down", "GET", "/api/health");
    }

    private async Task SessionsAsync(TestApp app)
    {
        var lin = await app.NewUserAsync("sessions");
        var other = await app.NewUserAsync("other-sessions");
        await app.LoginAsync(lin.Email);
        var listed = await SendAsync(app, "list sessions", "GET", "/api/me/sessions", bearer: lin.AccessToken);
        await SendAsync(app, "list sessions without a token", "GET", "/api/me/sessions");
        var secondId = listed.Json.GetProperty("sessions").EnumerateArray().Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;
        await SendAsync(app, "end another user's session", "DELETE", "/api/me/sessions/" + secondId, bearer: other.AccessToken);
        await SendAsync(app, "end a session", "DELETE", "/api/me/sessions/" + secondId, bearer: lin.AccessToken);
        await SendAsync(app, "end a session without a token", "DELETE", "/api/me/sessions/" + secondId);

        var change = Serialize(new { currentPassword = AccountsTestExtensions.GoodPassword, newPassword = "a new passphrase for the contract" });
        await SendAsync(app, "change the password with a wrong current one", "PUT", "/api/me/password",
            Serialize(new { currentPassword = "not the password at all", newPassword = "a new passphrase for the contract" }), Json, other.AccessToken);
        await SendAsync(app, "change the password without a token", "PUT", "/api/me/password", change, Json);
        await BadBodiesAsync(app, "PUT", "/api/me/password", lin.AccessToken);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await SendAsync(app, "change the password until throttled", "PUT", "/api/me/password",
                Serialize(new { currentPassword = $"wrong guess {attempt}", newPassword = "a new passphrase for the contract" }), Json, other.AccessToken);
        }

        var changed = await SendAsync(app, "change the password", "PUT", "/api/me/password", change, Json, lin.AccessToken);
        await SendAsync(app, "sign out everywhere", "DELETE", "/api/me/sessions", bearer: changed.Json.GetProperty("accessToken").GetString());
        await SendAsync(app, "sign out everywhere without a token", "DELETE", "/api/me/sessions");
    }

    private async Task SessionOutagesAsync(TestApp down, SignedInUser ada)
    {
        await SendAsync(down, "list sessions while storage is down", "GET", "/api/me/sessions", bearer: ada.AccessToken);
        await SendAsync(down, "end a session while storage is down", "DELETE", "/api/me/sessions/AAAAAAAAAAAAAAAAAAAAAA", bearer: ada.AccessToken);
        await SendAsync(down, "sign out everywhere while storage is down", "DELETE", "/api/me/sessions", bearer: ada.AccessToken);
        await SendAsync(down, "change the password while storage is down", "PUT", "/api/me/password",
            Serialize(new { currentPassword = AccountsTestExtensions.GoodPassword, newPassword = "a new passphrase for the contract" }), Json, ada.AccessToken);
    }

    private async Task PasskeysAsync(TestApp app)
    {
        var lin = await app.NewUserAsync("passkeys");
        var other = await app.NewUserAsync("passkeys-other");
        using var laptop = new SoftwareAuthenticator();
        var options = await SendAsync(app, "passkey registration options", "POST", "/api/me/passkeys/options", bearer: lin.AccessToken);
        await SendAsync(app, "passkey registration options without a token", "POST", "/api/me/passkeys/options");
        var registration = Serialize(new { credential = laptop.Create(options.Json, PasskeyFlows.Origin), name = "Laptop" });
        var registered = await SendAsync(app, "register a passkey", "POST", "/api/me/passkeys", registration, Json, lin.AccessToken);
        await SendAsync(app, "register with a used challenge", "POST", "/api/me/passkeys", registration, Json, lin.AccessToken);
        await SendAsync(app, "register without a credential", "POST", "/api/me/passkeys", Serialize(new { name = "Laptop" }), Json, lin.AccessToken);
        await SendAsync(app, "register without a token", "POST", "/api/me/passkeys", registration, Json);
        using (var copy = new SoftwareAuthenticator(laptop.CredentialId))
        {
            var otherOptions = await SendAsync(app, "passkey registration options of another account", "POST", "/api/me/passkeys/options", bearer: other.AccessToken);
            await SendAsync(app, "register a credential another account has", "POST", "/api/me/passkeys",
                Serialize(new { credential = copy.Create(otherOptions.Json, PasskeyFlows.Origin) }), Json, other.AccessToken);
        }

        await BadBodiesAsync(app, "POST", "/api/me/passkeys", lin.AccessToken);

        var id = registered.Json.GetProperty("id").GetString()!;
        await SendAsync(app, "list passkeys", "GET", "/api/me/passkeys", bearer: lin.AccessToken);
        await SendAsync(app, "list passkeys without a token", "GET", "/api/me/passkeys");
        await SendAsync(app, "rename a passkey", "PATCH", "/api/me/passkeys/" + id, Serialize(new { name = "Work laptop" }), Json, lin.AccessToken);
        await SendAsync(app, "rename another account's passkey", "PATCH", "/api/me/passkeys/" + id, Serialize(new { name = "Mine now" }), Json, other.AccessToken);
        await SendAsync(app, "rename a passkey to nothing", "PATCH", "/api/me/passkeys/" + id, Serialize(new { name = " " }), Json, lin.AccessToken);
        await SendAsync(app, "rename a passkey without a token", "PATCH", "/api/me/passkeys/" + id, Serialize(new { name = "Work laptop" }), Json);
        await BadBodiesAsync(app, "PATCH", "/api/me/passkeys/" + id, lin.AccessToken);

        var signInOptions = await SendAsync(app, "passkey sign-in options", "POST", "/api/auth/passkey/options");
        var assertion = Serialize(new { credential = laptop.Get(signInOptions.Json, PasskeyFlows.Origin) });
        await SendAsync(app, "sign in with a passkey", "POST", "/api/auth/passkey", assertion, Json);
        await SendAsync(app, "sign in with a used assertion", "POST", "/api/auth/passkey", assertion, Json);
        await SendAsync(app, "sign in without a credential", "POST", "/api/auth/passkey", "{}", Json);
        await BadBodiesAsync(app, "POST", "/api/auth/passkey");

        using var key = new SoftwareAuthenticator();
        var email = AccountsTestExtensions.UniqueEmail("passkey-only");
        var signupOptions = await SendAsync(app, "passkey signup options", "POST", "/api/auth/signup/passkey/options", Serialize(new { email, displayName = "Grace" }), Json);
        await SendAsync(app, "passkey signup options for a taken email", "POST", "/api/auth/signup/passkey/options", Serialize(new { email = lin.Email }), Json);
        await SendAsync(app, "passkey signup options with a malformed email", "POST", "/api/auth/signup/passkey/options", Serialize(new { email = "not an email" }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/signup/passkey/options");
        var signupBody = Serialize(new { credential = key.Create(signupOptions.Json, PasskeyFlows.Origin) });
        var grace = SignedInUser.From(email, (await SendAsync(app, "sign up with a passkey", "POST", "/api/auth/signup/passkey", signupBody, Json)).Json);
        await SendAsync(app, "sign up with a used challenge", "POST", "/api/auth/signup/passkey", signupBody, Json);
        using (var late = new SoftwareAuthenticator())
        {
            var lateEmail = AccountsTestExtensions.UniqueEmail("late");
            var lateOptions = await app.SignupOptionsAsync(lateEmail);
            await app.SignupAsync(lateEmail);
            await SendAsync(app, "sign up with a passkey after the email was taken", "POST", "/api/auth/signup/passkey",
                Serialize(new { credential = late.Create(lateOptions, PasskeyFlows.Origin) }), Json);
        }

        await BadBodiesAsync(app, "POST", "/api/auth/signup/passkey");

        var graceId = (await app.GetAsync("/api/me/passkeys", grace.AccessToken)).Json.GetProperty("passkeys")[0].GetProperty("id").GetString()!;
        await SendAsync(app, "delete the last way into an account", "DELETE", "/api/me/passkeys/" + graceId, bearer: grace.AccessToken);
        await SendAsync(app, "delete a passkey", "DELETE", "/api/me/passkeys/" + id, bearer: lin.AccessToken);
        await SendAsync(app, "delete a deleted passkey", "DELETE", "/api/me/passkeys/" + id, bearer: lin.AccessToken);
        await SendAsync(app, "delete a passkey without a token", "DELETE", "/api/me/passkeys/" + id);

        var proof = await app.SignInOptionsAsync();
        await SendAsync(app, "delete the account with another account's passkey", "DELETE", "/api/me",
            Serialize(new { passkeyAssertion = laptop.Get(proof, PasskeyFlows.Origin) }), Json, grace.AccessToken);
        proof = await app.SignInOptionsAsync();
        await SendAsync(app, "delete the account with its passkey", "DELETE", "/api/me",
            Serialize(new { passkeyAssertion = key.Get(proof, PasskeyFlows.Origin) }), Json, grace.AccessToken);
    }

    // Requests whose challenges are well-formed and fresh, so each gets as far as storage.
    private async Task PasskeyOutagesAsync(TestApp down, SignedInUser ada)
    {
        using var authenticator = new SoftwareAuthenticator();
        string Challenge(CeremonyPurpose purpose) => SoftwareAuthenticator.Base64Url(PasskeyChallenge.New(purpose, DateTime.UtcNow).Bytes);
        JsonElement Creation(CeremonyPurpose purpose) => JsonSerializer.SerializeToElement(new
        {
            challenge = Challenge(purpose),
            rp = new { id = PasskeyFlows.RelyingPartyId },
            user = new { id = SoftwareAuthenticator.Base64Url(new byte[32]) },
        });
        var assertion = authenticator.Assertion(Challenge(CeremonyPurpose.SignIn), PasskeyFlows.Origin, PasskeyFlows.RelyingPartyId,
            SoftwareAuthenticator.UserPresent | SoftwareAuthenticator.UserVerified, new byte[32], 1);
        await SendAsync(down, "passkey registration options while storage is down", "POST", "/api/me/passkeys/options", bearer: ada.AccessToken);
        await SendAsync(down, "register a passkey while storage is down", "POST", "/api/me/passkeys",
            Serialize(new { credential = authenticator.Create(Creation(CeremonyPurpose.Register), PasskeyFlows.Origin) }), Json, ada.AccessToken);
        await SendAsync(down, "list passkeys while storage is down", "GET", "/api/me/passkeys", bearer: ada.AccessToken);
        await SendAsync(down, "rename a passkey while storage is down", "PATCH", "/api/me/passkeys/" + authenticator.PasskeyId, Serialize(new { name = "Laptop" }), Json, ada.AccessToken);
        await SendAsync(down, "delete a passkey while storage is down", "DELETE", "/api/me/passkeys/" + authenticator.PasskeyId, bearer: ada.AccessToken);
        await SendAsync(down, "passkey sign-in options while storage is down", "POST", "/api/auth/passkey/options");
        await SendAsync(down, "sign in with a passkey while storage is down", "POST", "/api/auth/passkey", Serialize(new { credential = assertion }), Json);
        await SendAsync(down, "passkey signup options while storage is down", "POST", "/api/auth/signup/passkey/options",
            Serialize(new { email = AccountsTestExtensions.UniqueEmail("down") }), Json);
        await SendAsync(down, "sign up with a passkey while storage is down", "POST", "/api/auth/signup/passkey",
            Serialize(new { credential = authenticator.Create(Creation(CeremonyPurpose.Signup), PasskeyFlows.Origin) }), Json);
    }

    /// <summary>The answers every route with a JSON body gives to bodies it cannot take.</summary>
    private async Task BadBodiesAsync(TestApp app, string method, string path, string? bearer = null)
    {
        await SendAsync(app, "malformed JSON", method, path, "{\"title\":", Json, bearer);
        await SendAsync(app, "a field of the wrong type", method, path, "{\"title\":5,\"email\":5,\"refreshToken\":5}", Json, bearer);
        await SendAsync(app, "a body over 64 KiB", method, path, TooLarge, Json, bearer);
        await SendAsync(app, "a body that is not JSON", method, path, "title=milk", "text/plain", bearer);
    }

    private async Task<TestResponse> SendAsync(TestApp app, string scenario, string method, string pathAndQuery, string? body = null,
        string? contentType = null, string? bearer = null, Dictionary<string, string>? headers = null, System.Net.IPAddress? from = null)
    {
        var response = await app.SendAsync(method, pathAndQuery, body, contentType, bearer, headers, from: from);
        var path = pathAndQuery.Split('?')[0];
        var route = FunctionRoute.All.Single(route => route.Methods.Contains(method) && route.TryMatch(path, new RouteValueDictionary()));
        exchanges.Add(new Exchange(scenario, method, "/" + route.Route, response));
        return response;
    }

    private static Dictionary<string, string> IfMatch(string etag) => new() { ["If-Match"] = etag };

    private static string Serialize(object value) => JsonSerializer.Serialize(value, JsonSerializerOptions.Web);

    private sealed class BrokenClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => throw new InvalidOperationException("The test's clock is broken on purpose.");
    }
}
