// Over ~300 lines on purpose: each rule's cheapest attack beside the honest request that must still succeed.
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>
/// The attacker's side of passkeys: for every rule, the cheapest request sequence that would break it, and that it fails.
/// Each test also shows the honest request succeeding, so a check that refused everything would fail here too.
/// </summary>
public sealed class PasskeyAttackTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const byte Flags = SoftwareAuthenticator.UserPresent | SoftwareAuthenticator.UserVerified;
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<(SignedInUser User, SoftwareAuthenticator Authenticator)> UserWithPasskeyAsync(string name)
    {
        var user = await app.NewUserAsync(name);
        var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);
        return (user, authenticator);
    }

    private static void AssertRefusedSignIn(TestResponse response)
    {
        Assert.True(response.Status == 401, response.ToString());
        Assert.EndsWith("/invalid-credentials", response.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal("Bearer", response.Header("WWW-Authenticate"));
    }

    private static void AssertRefusedRegistration(TestResponse response)
    {
        Assert.True(response.Status == 400, response.ToString());
        Assert.EndsWith("/passkey-refused", response.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replayed_assertion_is_refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("replay");
        using var _ = authenticator;
        var assertion = authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin);

        var first = await app.SendSignInAsync(assertion);
        var second = await app.SendSignInAsync(assertion);

        Assert.Equal(200, first.Status);
        AssertRefusedSignIn(second);
    }

    [Fact]
    public async Task A_challenge_answered_after_5_minutes_is_refused_and_one_answered_within_them_is_not()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("late");
        using var _ = authenticator;
        var early = await app.SignInOptionsAsync();
        var late = await app.SignInOptionsAsync();

        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        var inTime = await app.SendSignInAsync(authenticator.Get(early, PasskeyFlows.Origin));
        clock.Advance(TimeSpan.FromSeconds(2));
        var tooLate = await app.SendSignInAsync(authenticator.Get(late, PasskeyFlows.Origin));

        Assert.Equal(200, inTime.Status);
        AssertRefusedSignIn(tooLate);
    }

    [Fact]
    public async Task A_registration_challenge_older_than_5_minutes_is_refused()
    {
        var user = await app.NewUserAsync("late-registration");
        using var authenticator = new SoftwareAuthenticator();
        var options = await app.RegistrationOptionsAsync(user.AccessToken);

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        AssertRefusedRegistration(await app.SendRegistrationAsync(user.AccessToken, authenticator.Create(options, PasskeyFlows.Origin)));
    }

    [Fact]
    public async Task An_assertion_from_another_origin_is_refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("origin");
        using var _ = authenticator;

        var phished = await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), "https://page.example.evil.test"));
        var subdomain = await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), "https://other.page.example"));
        var honest = await app.SignInAsync(authenticator);

        AssertRefusedSignIn(phished);
        AssertRefusedSignIn(subdomain);
        Assert.Equal(200, honest.Status);
    }

    [Fact]
    public async Task An_assertion_for_another_relying_party_id_is_refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("rpid");
        using var _ = authenticator;

        var response = await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin, rpId: "evil.example"));

        AssertRefusedSignIn(response);
        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);
    }

    [Fact]
    public async Task A_registration_from_another_origin_or_for_another_relying_party_is_refused()
    {
        var user = await app.NewUserAsync("bad-registration");
        using var authenticator = new SoftwareAuthenticator();

        var origin = await app.SendRegistrationAsync(user.AccessToken, authenticator.Create(await app.RegistrationOptionsAsync(user.AccessToken), "https://evil.example"));
        var rpId = await app.SendRegistrationAsync(user.AccessToken,
            authenticator.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin, rpId: "evil.example"));
        var unverified = await app.SendRegistrationAsync(user.AccessToken,
            authenticator.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin, flags: SoftwareAuthenticator.UserPresent));

        AssertRefusedRegistration(origin);
        AssertRefusedRegistration(rpId);
        AssertRefusedRegistration(unverified);
        Assert.Empty((await app.GetAsync("/api/me/passkeys", user.AccessToken)).Json.GetProperty("passkeys").EnumerateArray());
    }

    [Fact]
    public async Task An_assertion_without_user_verification_or_presence_is_refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("uv");
        using var _ = authenticator;

        var noVerification = await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin, flags: SoftwareAuthenticator.UserPresent));
        var noPresence = await app.SendSignInAsync(authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin, flags: SoftwareAuthenticator.UserVerified));

        AssertRefusedSignIn(noVerification);
        AssertRefusedSignIn(noPresence);
    }

    [Fact]
    public async Task A_signature_counter_that_goes_back_is_refused_and_logged_as_a_possible_clone()
    {
        var (user, authenticator) = await UserWithPasskeyAsync("clone");
        using var _ = authenticator;
        authenticator.Counter = 10;
        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);

        var back = authenticator.Assertion((await app.SignInOptionsAsync()).GetProperty("challenge").GetString()!, PasskeyFlows.Origin,
            PasskeyFlows.RelyingPartyId, Flags, authenticator.UserHandle!, counter: 5);
        var same = authenticator.Assertion((await app.SignInOptionsAsync()).GetProperty("challenge").GetString()!, PasskeyFlows.Origin,
            PasskeyFlows.RelyingPartyId, Flags, authenticator.UserHandle!, counter: 11);
        var cloned = await app.SendSignInAsync(back);
        var repeated = await app.SendSignInAsync(same);

        AssertRefusedSignIn(cloned);
        AssertRefusedSignIn(repeated);
        var warnings = app.Logs.Entries.Where(entry => entry.Level == LogLevel.Warning && entry.Message.Contains("Possible cloned authenticator", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, warning =>
        {
            Assert.Contains(user.Id, warning.Message, StringComparison.Ordinal);
            Assert.Contains(authenticator.PasskeyId, warning.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(SoftwareAuthenticator.Base64Url(authenticator.CredentialId), warning.Message, StringComparison.Ordinal);
        });
        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);
    }

    [Fact]
    public async Task An_authenticator_without_a_counter_signs_in_again_and_again()
    {
        var user = await app.NewUserAsync("no-counter");
        using var authenticator = new SoftwareAuthenticator { CounterStep = 0 };
        await app.RegisterAsync(authenticator, user.AccessToken);

        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);
        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);
    }

    [Fact]
    public async Task A_credential_of_account_A_presented_with_account_Bs_user_handle_is_refused()
    {
        var (_, mallory) = await UserWithPasskeyAsync("mallory");
        var (victim, victimKey) = await UserWithPasskeyAsync("victim");
        using var _ = mallory;
        using var __ = victimKey;

        var response = await app.SendSignInAsync(mallory.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin, userHandle: victimKey.UserHandle));

        AssertRefusedSignIn(response);
        Assert.DoesNotContain(victim.Id, response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_credential_id_cannot_be_registered_to_a_second_account_even_at_the_same_moment()
    {
        var (first, original) = await UserWithPasskeyAsync("first");
        using var _ = original;
        var second = await app.NewUserAsync("second");
        using var copy = new SoftwareAuthenticator(original.CredentialId);

        var taken = await app.SendRegistrationAsync(second.AccessToken, copy.Create(await app.RegistrationOptionsAsync(second.AccessToken), PasskeyFlows.Origin));

        Assert.Equal(409, taken.Status);
        Assert.EndsWith("/passkey-taken", taken.Json.GetProperty("type").GetString(), StringComparison.Ordinal);

        // However old the claim, it stays while its owner has the passkey.
        clock.Advance(TimeSpan.FromHours(1));
        var token = (await app.LoginAsync(second.Email)).Json.GetProperty("accessToken").GetString()!;
        var later = await app.SendRegistrationAsync(token, copy.Create(await app.RegistrationOptionsAsync(token), PasskeyFlows.Origin));
        Assert.Equal(409, later.Status);

        // Ten accounts racing to register one new credential id: at most one gets it.
        var racers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => app.NewUserAsync($"racer{i}")));
        var shared = RandomCredentialId();
        var attempts = await Task.WhenAll(racers.Select(async racer =>
        {
            using var key = new SoftwareAuthenticator(shared);
            return await app.SendRegistrationAsync(racer.AccessToken, key.Create(await app.RegistrationOptionsAsync(racer.AccessToken), PasskeyFlows.Origin));
        }));
        Assert.Equal(1, attempts.Count(response => response.Status == 201));
        Assert.All(attempts.Where(response => response.Status != 201), response => Assert.Equal(409, response.Status));
        Assert.Equal(200, (await app.SignInAsync(original)).Status);
        Assert.Equal(first.Id, (await app.SignInAsync(original)).Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_challenge_answers_only_the_ceremony_it_was_issued_for()
    {
        var (user, authenticator) = await UserWithPasskeyAsync("purpose");
        using var _ = authenticator;
        using var fresh = new SoftwareAuthenticator();

        var registrationChallenge = (await app.RegistrationOptionsAsync(user.AccessToken)).GetProperty("challenge").GetString()!;
        var signupChallenge = (await app.SignupOptionsAsync(AccountsTestExtensions.UniqueEmail("purpose"))).GetProperty("challenge").GetString()!;
        var signInOptions = await app.SignInOptionsAsync();
        var signInWithRegistration = await app.SendSignInAsync(authenticator.Get(signInOptions, PasskeyFlows.Origin, challenge: registrationChallenge));
        var signInWithSignup = await app.SendSignInAsync(authenticator.Get(signInOptions, PasskeyFlows.Origin, challenge: signupChallenge));
        var registerWithSignIn = await app.SendRegistrationAsync(user.AccessToken,
            fresh.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin, challenge: signInOptions.GetProperty("challenge").GetString()));
        var signupWithRegistration = await app.SendSignupAsync(
            fresh.Create(await app.SignupOptionsAsync(AccountsTestExtensions.UniqueEmail("purpose")), PasskeyFlows.Origin, challenge: registrationChallenge));

        AssertRefusedSignIn(signInWithRegistration);
        AssertRefusedSignIn(signInWithSignup);
        AssertRefusedRegistration(registerWithSignIn);
        AssertRefusedRegistration(signupWithRegistration);
        Assert.Equal(200, (await app.SendSignInAsync(authenticator.Get(signInOptions, PasskeyFlows.Origin))).Status);
    }

    [Fact]
    public async Task A_registration_challenge_of_another_account_is_refused()
    {
        var alice = await app.NewUserAsync("alice");
        var bob = await app.NewUserAsync("bob");
        using var authenticator = new SoftwareAuthenticator();

        var response = await app.SendRegistrationAsync(bob.AccessToken, authenticator.Create(await app.RegistrationOptionsAsync(alice.AccessToken), PasskeyFlows.Origin));

        AssertRefusedRegistration(response);
        Assert.Empty((await app.GetAsync("/api/me/passkeys", alice.AccessToken)).Json.GetProperty("passkeys").EnumerateArray());
        Assert.Empty((await app.GetAsync("/api/me/passkeys", bob.AccessToken)).Json.GetProperty("passkeys").EnumerateArray());
    }

    [Fact]
    public async Task Twenty_parallel_sign_ins_with_one_assertion_start_at_most_one_session()
    {
        var (user, authenticator) = await UserWithPasskeyAsync("parallel");
        using var _ = authenticator;
        var assertion = JsonSerializer.Serialize(new { credential = authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin) }, JsonSerializerOptions.Web);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => app.SendAsync("POST", "/api/auth/passkey", assertion, "application/json")));

        Assert.True(answers.Count(answer => answer.Status == 200) <= 1, string.Join('\n', answers.Select(a => a.Status)));
        Assert.All(answers.Where(answer => answer.Status != 200), AssertRefusedSignIn);
        // The signup's session, plus at most one from the passkey.
        var sessions = (await app.GetAsync("/api/me/sessions", user.AccessToken)).Json.GetProperty("sessions").GetArrayLength();
        Assert.InRange(sessions, 1, 2);
    }

    [Fact]
    public async Task A_passkey_only_account_logging_in_with_a_password_gets_the_generic_401()
    {
        using var authenticator = new SoftwareAuthenticator();
        var user = await app.PasskeyUserAsync(authenticator);

        var empty = await app.LoginAsync(user.Email, "");
        var guess = await app.LoginAsync(user.Email, AccountsTestExtensions.GoodPassword);
        var unknown = await app.LoginAsync(AccountsTestExtensions.UniqueEmail("nobody"), AccountsTestExtensions.GoodPassword);

        Assert.Equal(400, empty.Status);
        Assert.Equal(401, guess.Status);
        Assert.Equal(unknown.Json.GetProperty("type").GetString(), guess.Json.GetProperty("type").GetString());
        Assert.Equal(unknown.Json.GetProperty("detail").GetString(), guess.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Logs_never_carry_raw_credential_ids_challenges_or_public_keys()
    {
        var (_, authenticator) = await UserWithPasskeyAsync("logs");
        using var _ = authenticator;
        var options = await app.SignInOptionsAsync();
        await app.SendSignInAsync(authenticator.Get(options, PasskeyFlows.Origin));
        await app.SendSignInAsync(authenticator.Get(options, PasskeyFlows.Origin));

        var stored = await app.Table(AppTables.Users).QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"RowKey eq {"passkey-" + authenticator.PasskeyId}")).FirstAsync();
        var secrets = new[]
        {
            SoftwareAuthenticator.Base64Url(authenticator.CredentialId),
            Convert.ToBase64String(authenticator.CredentialId),
            options.GetProperty("challenge").GetString()!,
            Convert.ToBase64String(stored.GetBinary("PublicKey")!),
            SoftwareAuthenticator.Base64Url(stored.GetBinary("PublicKey")!),
        };
        var text = app.Logs.AllText;

        Assert.Contains("passkey", text, StringComparison.OrdinalIgnoreCase);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
    }

    private static byte[] RandomCredentialId() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
}
