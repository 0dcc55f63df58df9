using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>The three ceremonies end to end: register a passkey, sign in with it (no email typed), sign up with one.</summary>
public sealed class PasskeyCeremonyTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Registration_options_ask_for_a_discoverable_user_verified_credential_of_the_configured_relying_party()
    {
        var user = await app.NewUserAsync("options");

        var options = await app.RegistrationOptionsAsync(user.AccessToken);

        Assert.Equal(PasskeyFlows.RelyingPartyId, options.GetProperty("rp").GetProperty("id").GetString());
        Assert.Equal(user.Email, options.GetProperty("user").GetProperty("name").GetString());
        // The user handle is opaque: never the email, and the same for every ceremony of the account.
        var handle = options.GetProperty("user").GetProperty("id").GetString()!;
        Assert.DoesNotContain("example", System.Text.Encoding.UTF8.GetString(SoftwareAuthenticator.FromBase64Url(handle)), StringComparison.Ordinal);
        Assert.Equal(handle, (await app.RegistrationOptionsAsync(user.AccessToken)).GetProperty("user").GetProperty("id").GetString());
        Assert.True(SoftwareAuthenticator.FromBase64Url(options.GetProperty("challenge").GetString()!).Length >= 16);
        Assert.Equal("required", options.GetProperty("authenticatorSelection").GetProperty("residentKey").GetString());
        Assert.Equal("required", options.GetProperty("authenticatorSelection").GetProperty("userVerification").GetString());
        Assert.Equal("none", options.GetProperty("attestation").GetString());
        var algorithms = options.GetProperty("pubKeyCredParams").EnumerateArray().Select(p => p.GetProperty("alg").GetInt32()).ToList();
        Assert.Contains(-7, algorithms);
        Assert.Contains(-257, algorithms);
    }

    [Fact]
    public async Task A_registered_passkey_signs_in_without_an_email_and_the_session_is_the_accounts()
    {
        var user = await app.NewUserAsync("register");
        using var authenticator = new SoftwareAuthenticator();

        var registered = await app.RegisterAsync(authenticator, user.AccessToken, "My laptop");
        var signIn = await app.SignInAsync(authenticator);

        Assert.Equal(authenticator.PasskeyId, registered.GetProperty("id").GetString());
        Assert.Equal("My laptop", registered.GetProperty("name").GetString());
        Assert.True(signIn.Status == 200, signIn.ToString());
        Assert.Equal(user.Id, signIn.Json.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal("no-store", signIn.Header("Cache-Control"));
        var me = await app.GetAsync("/api/me", signIn.Json.GetProperty("accessToken").GetString());
        Assert.Equal(user.Email, me.Json.GetProperty("email").GetString());
    }

    [Fact]
    public async Task Registration_options_exclude_the_accounts_existing_credentials()
    {
        var user = await app.NewUserAsync("exclude");
        using var first = new SoftwareAuthenticator();
        await app.RegisterAsync(first, user.AccessToken);

        var options = await app.RegistrationOptionsAsync(user.AccessToken);

        var excluded = options.GetProperty("excludeCredentials").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.Equal([SoftwareAuthenticator.Base64Url(first.CredentialId)], excluded);
    }

    [Fact]
    public async Task Signup_with_a_passkey_creates_an_account_without_a_password_that_signs_in_with_it()
    {
        using var authenticator = new SoftwareAuthenticator();
        var email = AccountsTestExtensions.UniqueEmail("signup");

        var options = await app.SignupOptionsAsync(email, "Grace");
        var signup = await app.SendSignupAsync(authenticator.Create(options, PasskeyFlows.Origin));

        Assert.True(signup.Status == 201, signup.ToString());
        Assert.Equal("/api/me", signup.Header("Location"));
        Assert.Equal(email, signup.Json.GetProperty("user").GetProperty("email").GetString());
        Assert.Equal("Grace", signup.Json.GetProperty("user").GetProperty("displayName").GetString());
        var signIn = await app.SignInAsync(authenticator);
        Assert.True(signIn.Status == 200, signIn.ToString());
        Assert.Equal(signup.Json.GetProperty("user").GetProperty("id").GetString(), signIn.Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Signup_with_a_passkey_for_a_taken_email_is_409_at_the_options_and_at_the_end()
    {
        var taken = await app.NewUserAsync("taken");
        var email = AccountsTestExtensions.UniqueEmail("race");
        using var authenticator = new SoftwareAuthenticator();
        var options = await app.SignupOptionsAsync(email);
        await app.SignupAsync(email);

        var early = await app.PostJsonAsync("/api/auth/signup/passkey/options", new { email = taken.Email.ToUpperInvariant() });
        var late = await app.SendSignupAsync(authenticator.Create(options, PasskeyFlows.Origin));

        Assert.Equal(409, early.Status);
        Assert.EndsWith("/email-taken", early.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(409, late.Status);
        Assert.EndsWith("/email-taken", late.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signup_options_check_the_email_and_display_name_like_the_password_signup()
    {
        var response = await app.PostJsonAsync("/api/auth/signup/passkey/options", new { email = "not an email", displayName = "" });

        Assert.Equal(400, response.Status);
        var errors = response.Json.GetProperty("errors");
        Assert.True(errors.TryGetProperty("email", out _));
        Assert.True(errors.TryGetProperty("displayName", out _));
    }
}
