using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Mail;
using Serverless.Functions.Http;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Tests.Passkeys;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// What the routes need to be called successfully: a signed-in user with three sessions and two items, and a second
/// user for the routes that end every session of their caller (which would end the first user's sessions mid-walk).
/// </summary>
public sealed record RouteFixtures(SignedInUser User, string LogoutRefreshToken, string ItemId, string ItemETag, string DisposableItemId, string NewEmail)
{
    /// <summary>A verification token of <see cref="User"/>, whose last verification mail is two minutes old.</summary>
    public string VerifyToken { get; init; } = "";

    /// <summary>A reset token of another user (a reset ends every session, and the walk still needs <see cref="User"/>'s).</summary>
    public string ResetToken { get; init; } = "";

    public SignedInUser Other { get; init; } = null!;

    public string DisposableSessionId { get; init; } = "";

    /// <summary>A passkey of <see cref="User"/> that stays, and one that a walk may delete.</summary>
    public string PasskeyId { get; init; } = "";

    public string DisposablePasskeyId { get; init; } = "";

    public static async Task<RouteFixtures> CreateAsync(TestApp app)
    {
        var user = await app.NewUserAsync("routes");
        var other = await app.NewUserAsync("routes-other");
        var third = await app.LoginAsync(user.Email);
        var thirdSessions = await app.GetAsync("/api/me/sessions", third.Json.GetProperty("accessToken").GetString());
        var disposableSession = thirdSessions.Json.GetProperty("sessions").EnumerateArray().Single(session => session.GetProperty("current").GetBoolean());
        var second = await app.LoginAsync(user.Email);
        var item = await app.PostJsonAsync("/api/items", new { title = "Kept", description = "for the routes" }, user.AccessToken);
        var disposable = await app.PostJsonAsync("/api/items", new { title = "Disposable" }, user.AccessToken);
        Assert.True(second.Status == 200 && item.Status == 201 && disposable.Status == 201, $"{second} {item} {disposable}");
        var resetUser = await app.NewUserAsync("routes-reset");
        using var kept = new SoftwareAuthenticator();
        using var disposablePasskey = new SoftwareAuthenticator();
        await app.RegisterAsync(kept, user.AccessToken);
        await app.RegisterAsync(disposablePasskey, user.AccessToken);
        return new RouteFixtures(
            user,
            second.Json.GetProperty("refreshToken").GetString()!,
            item.Json.GetProperty("id").GetString()!,
            item.Header("ETag")!,
            disposable.Json.GetProperty("id").GetString()!,
            AccountsTestExtensions.UniqueEmail("routes-new"))
        {
            Other = other,
            DisposableSessionId = disposableSession.GetProperty("id").GetString()!,
            PasskeyId = kept.PasskeyId,
            DisposablePasskeyId = disposablePasskey.PasskeyId,
            VerifyToken = await MailTokenAsync(app, user.Email, MailPurpose.Verify),
            ResetToken = await MailTokenAsync(app, resetUser.Email, MailPurpose.Reset),
        };
    }

    // A token stored the way the app stores one (no mail server needed), with the mail limit window already past.
    private static async Task<string> MailTokenAsync(TestApp app, string email, MailPurpose purpose)
    {
        var key = app.AccountKey(email);
        var store = app.Services.GetRequiredService<MailStore>();
        var mail = await app.Services.GetRequiredService<MailDelivery>().PrepareAsync(purpose, key, email, CancellationToken.None);
        var (_, rows) = await store.ReadAsync(key, [MailStore.LimitRowKey(purpose)], CancellationToken.None);
        var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
        Assert.True(await store.TryCommitAsync(key, purpose, MailStore.LimitOf(rows, purpose), new MailLimit(1, now.AddMinutes(-2)), mail, now, CancellationToken.None));
        return mail.Token.ToString();
    }
}

/// <summary>One well-formed request to one function, and the status it gets when everything works.</summary>
public sealed record RouteRequest(string Function, string Method, string Path, int SuccessStatus, string? Body = null,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    public bool NeedsToken { get; init; }

    public bool TouchesStorage { get; init; } = true;

    /// <summary>For a route run as <see cref="RouteFixtures.Other"/>: the owner's token is swapped for theirs (any other token is sent as given).</summary>
    public (string Owner, string Acting)? BearerSwap { get; init; }

    public Task<TestResponse> SendAsync(TestApp app, string? bearer, CancellationToken cancellationToken = default) =>
        app.SendAsync(Method, Path, Body, Body is null ? null : "application/json", NeedsToken ? Swap(bearer) : null,
            Headers?.ToDictionary(), cancellationToken: cancellationToken);

    private string? Swap(string? bearer) => BearerSwap is { } swap && bearer == swap.Owner ? swap.Acting : bearer;

    public override string ToString() => $"{Function}: {Method} {Path}";
}

/// <summary>
/// One request per HTTP function, found through <see cref="FunctionRoute.All"/> (the attributes the host reads):
/// a function added without a request here fails every suite that walks the routes, naming it.
/// </summary>
public static class RouteRequests
{
    public static IReadOnlyList<RouteRequest> All(RouteFixtures fixtures) => [.. FunctionRoute.All.Select(route => For(route, fixtures))];

    public static RouteRequest For(FunctionRoute route, RouteFixtures f)
    {
        var request = route.Name switch
        {
            "Signup" => Post(route, "/api/auth/signup", 201, new { email = f.NewEmail, password = AccountsTestExtensions.GoodPassword }),
            "Login" => Post(route, "/api/auth/login", 200, new { email = f.User.Email, password = AccountsTestExtensions.GoodPassword }),
            "Refresh" => Post(route, "/api/auth/refresh", 200, new { refreshToken = f.User.RefreshToken }),
            "Logout" => Post(route, "/api/auth/logout", 204, new { refreshToken = f.LogoutRefreshToken }),
            "Me" => new RouteRequest(route.Name, "GET", "/api/me", 200),
            // The walks reuse one account for every route: a wrong password reaches storage and the hash without deleting it.
            "DeleteAccount" => new RouteRequest(route.Name, "DELETE", "/api/me", 400,
                JsonSerializer.Serialize(new { password = "not the password of the route walk" })),
            "ListItems" => new RouteRequest(route.Name, "GET", "/api/items?limit=5", 200),
            "CreateItem" => Post(route, "/api/items", 201, new { title = "Created by the route walk" }),
            "GetItem" => new RouteRequest(route.Name, "GET", "/api/items/" + f.ItemId, 200),
            "UpdateItem" => new RouteRequest(route.Name, "PUT", "/api/items/" + f.ItemId, 200,
                JsonSerializer.Serialize(new { title = "Updated by the route walk" }), IfMatch(f.ItemETag)),
            "DeleteItem" => new RouteRequest(route.Name, "DELETE", "/api/items/" + f.DisposableItemId, 204),
            "Health" => new RouteRequest(route.Name, "GET", "/api/health", 200),
            "OpenApi" => new RouteRequest(route.Name, "GET", "/api/openapi.json", 200) { TouchesStorage = false },
            "VerifyEmail" => Post(route, "/api/auth/verify-email", 204, new { token = f.VerifyToken }),
            "SendVerificationEmail" => new RouteRequest(route.Name, "POST", "/api/me/verification-email", 202),
            "PasswordReset" => Post(route, "/api/auth/password-reset", 202, new { email = f.User.Email }),
            "PasswordResetConfirm" => Post(route, "/api/auth/password-reset/confirm", 200,
                new { token = f.ResetToken, newPassword = "a new long passphrase from the route walk" }),
            "ListSessions" => new RouteRequest(route.Name, "GET", "/api/me/sessions", 200),
            "EndSession" => new RouteRequest(route.Name, "DELETE", "/api/me/sessions/" + f.DisposableSessionId, 204),
            "EndAllSessions" => new RouteRequest(route.Name, "DELETE", "/api/me/sessions", 204) { BearerSwap = (f.User.AccessToken, f.Other.AccessToken) },
            "ChangePassword" => new RouteRequest(route.Name, "PUT", "/api/me/password", 200, JsonSerializer.Serialize(new
            {
                currentPassword = AccountsTestExtensions.GoodPassword,
                newPassword = AccountsTestExtensions.GoodPassword,
            })) { BearerSwap = (f.User.AccessToken, f.Other.AccessToken) },
            "PasskeyRegistrationOptions" => new RouteRequest(route.Name, "POST", "/api/me/passkeys/options", 200),
            // A ceremony's answer cannot be replayed, so the walks send well-formed answers to fresh challenges that were
            // never issued: each goes as far as storage (the challenge's read or delete) and is refused there.
            "RegisterPasskey" => Post(route, "/api/me/passkeys", 400, new { credential = Attestation(CeremonyPurpose.Register), name = "Route walk" }),
            "ListPasskeys" => new RouteRequest(route.Name, "GET", "/api/me/passkeys", 200),
            "RenamePasskey" => new RouteRequest(route.Name, "PATCH", "/api/me/passkeys/" + f.PasskeyId, 200,
                JsonSerializer.Serialize(new { name = "Renamed by the route walk" })),
            "DeletePasskey" => new RouteRequest(route.Name, "DELETE", "/api/me/passkeys/" + f.DisposablePasskeyId, 204),
            "PasskeySignInOptions" => new RouteRequest(route.Name, "POST", "/api/auth/passkey/options", 200),
            "PasskeySignIn" => Post(route, "/api/auth/passkey", 401, new { credential = Assertion() }),
            "PasskeySignupOptions" => Post(route, "/api/auth/signup/passkey/options", 200, new { email = f.NewEmail }),
            "PasskeySignup" => Post(route, "/api/auth/signup/passkey", 400, new { credential = Attestation(CeremonyPurpose.Signup) }),
            // Two-step sign-in is off for the walk's user: a set-up starts (the password is right), a confirm without a
            // code that verifies is refused, turning off and new codes find it off after the proof, and a well-formed
            // mfa token that was never issued is refused after the account's read.
            "MfaTotpEnrol" => Post(route, "/api/me/mfa/totp", 200, new { password = AccountsTestExtensions.GoodPassword }),
            "MfaTotpConfirm" => Post(route, "/api/me/mfa/totp/confirm", 400, new { code = "000000" }),
            "MfaTotpDisable" => new RouteRequest(route.Name, "DELETE", "/api/me/mfa/totp", 409,
                JsonSerializer.Serialize(new { password = AccountsTestExtensions.GoodPassword, code = "123456" })),
            "MfaRecoveryCodes" => Post(route, "/api/me/mfa/recovery-codes", 409, new { password = AccountsTestExtensions.GoodPassword, code = "123456" }),
            "LoginMfa" => Post(route, "/api/auth/login/mfa", 401, new { mfaToken = Functions.Mfa.MfaToken.New(Functions.Mfa.MfaToken.New("unused").Secret).ToString(), code = "123456" }),
            _ => throw new InvalidOperationException(
                $"No reliability request for function {route.Name}: add one to {nameof(RouteRequests)} so the suites cover it."),
        };
        return request with { NeedsToken = !FunctionAccess.AllowsAnonymous(route.Method) };
    }

    public static Dictionary<string, string> IfMatch(string etag) => new() { ["If-Match"] = etag };

    private static string FreshChallenge(CeremonyPurpose purpose) => SoftwareAuthenticator.Base64Url(PasskeyChallenge.New(purpose, DateTime.UtcNow).Bytes);

    private static object Attestation(CeremonyPurpose purpose)
    {
        using var authenticator = new SoftwareAuthenticator();
        return authenticator.Create(JsonSerializer.SerializeToElement(new
        {
            challenge = FreshChallenge(purpose),
            rp = new { id = PasskeyFlows.RelyingPartyId },
            user = new { id = SoftwareAuthenticator.Base64Url(new byte[32]) },
        }), PasskeyFlows.Origin);
    }

    private static object Assertion()
    {
        using var authenticator = new SoftwareAuthenticator();
        return authenticator.Assertion(FreshChallenge(CeremonyPurpose.SignIn), PasskeyFlows.Origin, PasskeyFlows.RelyingPartyId,
            SoftwareAuthenticator.UserPresent | SoftwareAuthenticator.UserVerified, new byte[32], 1);
    }

    private static RouteRequest Post(FunctionRoute route, string path, int successStatus, object body) =>
        new(route.Name, "POST", path, successStatus, JsonSerializer.Serialize(body));
}
