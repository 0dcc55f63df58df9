using System.Text.Json;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>The browser's part of each passkey ceremony, against the app's routes, with a <see cref="SoftwareAuthenticator"/>.</summary>
public static class PasskeyFlows
{
    /// <summary>The page origin and relying-party id of <see cref="TestApp.DefaultSettings"/>.</summary>
    public const string Origin = "https://page.example";
    public const string RelyingPartyId = "page.example";

    public static async Task<JsonElement> RegistrationOptionsAsync(this TestApp app, string bearer)
    {
        var response = await app.SendAsync("POST", "/api/me/passkeys/options", bearer: bearer);
        Assert.True(response.Status == 200, response.ToString());
        return response.Json;
    }

    public static Task<TestResponse> SendRegistrationAsync(this TestApp app, string bearer, object credential, string? name = "Laptop") =>
        app.PostJsonAsync("/api/me/passkeys", name is null ? new { credential } : new { credential, name }, bearer);

    /// <summary>Registers the authenticator's credential to the signed-in account; asserts the 201.</summary>
    public static async Task<JsonElement> RegisterAsync(this TestApp app, SoftwareAuthenticator authenticator, string bearer, string name = "Laptop")
    {
        var options = await app.RegistrationOptionsAsync(bearer);
        var response = await app.SendRegistrationAsync(bearer, authenticator.Create(options, Origin), name);
        Assert.True(response.Status == 201, response.ToString());
        return response.Json;
    }

    public static async Task<JsonElement> SignInOptionsAsync(this TestApp app, IDictionary<string, string>? headers = null)
    {
        var response = await app.SendAsync("POST", "/api/auth/passkey/options", headers: headers);
        Assert.True(response.Status == 200, response.ToString());
        return response.Json;
    }

    public static Task<TestResponse> SendSignInAsync(this TestApp app, object credential) =>
        app.PostJsonAsync("/api/auth/passkey", new { credential });

    public static async Task<TestResponse> SignInAsync(this TestApp app, SoftwareAuthenticator authenticator) =>
        await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), Origin));

    public static async Task<JsonElement> SignupOptionsAsync(this TestApp app, string email, string? displayName = null)
    {
        var response = await app.PostJsonAsync("/api/auth/signup/passkey/options", displayName is null ? new { email } : new { email, displayName });
        Assert.True(response.Status == 200, response.ToString());
        return response.Json;
    }

    public static Task<TestResponse> SendSignupAsync(this TestApp app, object credential) =>
        app.PostJsonAsync("/api/auth/signup/passkey", new { credential });

    /// <summary>Signs a new passkey-only user up; asserts the 201.</summary>
    public static async Task<SignedInUser> PasskeyUserAsync(this TestApp app, SoftwareAuthenticator authenticator, string name = "passkey")
    {
        var email = AccountsTestExtensions.UniqueEmail(name);
        var options = await app.SignupOptionsAsync(email);
        var response = await app.SendSignupAsync(authenticator.Create(options, Origin));
        Assert.True(response.Status == 201, response.ToString());
        return SignedInUser.From(email, response.Json);
    }
}
