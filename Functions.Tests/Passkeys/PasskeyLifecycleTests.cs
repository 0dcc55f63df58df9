// Over ~300 lines on purpose: a passkey's whole life (list, rename, delete, last way in, account deletion) on one
// software authenticator and one app.
using Azure.Data.Tables;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>
/// The account's passkeys over their life: listed, renamed, deleted; an account always keeps one way in; deleting the
/// account with a passkey, and deleting the account deletes its passkeys and frees their credential ids.
/// </summary>
public sealed class PasskeyLifecycleTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private Task<TestResponse> DeletePasskeyAsync(string bearer, string id) => app.SendAsync("DELETE", "/api/me/passkeys/" + id, bearer: bearer);

    private async Task<List<string>> PasskeyIdsAsync(string bearer)
    {
        var response = await app.GetAsync("/api/me/passkeys", bearer);
        Assert.True(response.Status == 200, response.ToString());
        return [.. response.Json.GetProperty("passkeys").EnumerateArray().Select(p => p.GetProperty("id").GetString()!)];
    }

    private async Task<bool> IdClaimedAsync(string passkeyId) =>
        (await app.Table(AppTables.PasskeyIds).GetEntityIfExistsAsync<TableEntity>(passkeyId, Functions.Passkeys.PasskeyStore.ClaimRowKey)).HasValue;

    [Fact]
    public async Task Passkeys_are_listed_newest_first_renamed_and_deleted_and_only_the_owner_sees_them()
    {
        var user = await app.NewUserAsync("list");
        var stranger = await app.NewUserAsync("stranger");
        using var laptop = new SoftwareAuthenticator();
        using var phone = new SoftwareAuthenticator();
        await app.RegisterAsync(laptop, user.AccessToken, "Laptop");
        await Task.Delay(20);
        await app.RegisterAsync(phone, user.AccessToken, "Phone");
        Assert.Equal(200, (await app.SignInAsync(phone)).Status);

        var listed = (await app.GetAsync("/api/me/passkeys", user.AccessToken)).Json.GetProperty("passkeys");
        var renamed = await app.SendAsync("PATCH", "/api/me/passkeys/" + laptop.PasskeyId, """{"name":"  Work laptop "}""", "application/json", user.AccessToken);
        var strangerRename = await app.SendAsync("PATCH", "/api/me/passkeys/" + laptop.PasskeyId, """{"name":"Mine"}""", "application/json", stranger.AccessToken);
        var strangerDelete = await DeletePasskeyAsync(stranger.AccessToken, laptop.PasskeyId);

        Assert.Equal(["Phone", "Laptop"], listed.EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, listed[0].GetProperty("lastUsedAt").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, listed[1].GetProperty("lastUsedAt").ValueKind);
        Assert.Equal("Work laptop", renamed.Json.GetProperty("name").GetString());
        Assert.Equal(404, strangerRename.Status);
        Assert.Equal(404, strangerDelete.Status);
        Assert.Empty(await PasskeyIdsAsync(stranger.AccessToken));

        Assert.Equal(204, (await DeletePasskeyAsync(user.AccessToken, laptop.PasskeyId)).Status);
        Assert.Equal(404, (await DeletePasskeyAsync(user.AccessToken, laptop.PasskeyId)).Status);
        Assert.Equal([phone.PasskeyId], await PasskeyIdsAsync(user.AccessToken));
        Assert.Equal(401, (await app.SignInAsync(laptop)).Status);
        Assert.False(await IdClaimedAsync(laptop.PasskeyId));
    }

    [Fact]
    public async Task A_passkey_name_is_1_to_64_characters_without_control_characters()
    {
        var user = await app.NewUserAsync("names");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);

        foreach (var bad in new[] { "", "   ", new string('n', 65), "tab\there" })
        {
            var patch = await app.SendAsync("PATCH", "/api/me/passkeys/" + authenticator.PasskeyId,
                System.Text.Json.JsonSerializer.Serialize(new { name = bad }), "application/json", user.AccessToken);
            Assert.True(patch.Status == 400, $"{bad}: {patch}");
            Assert.True(patch.Json.GetProperty("errors").TryGetProperty("name", out _));
        }

        var longest = await app.SendAsync("PATCH", "/api/me/passkeys/" + authenticator.PasskeyId,
            System.Text.Json.JsonSerializer.Serialize(new { name = new string('n', 64) }), "application/json", user.AccessToken);
        Assert.Equal(200, longest.Status);
    }

    [Fact]
    public async Task The_last_passkey_of_an_account_without_a_password_cannot_be_deleted()
    {
        using var only = new SoftwareAuthenticator();
        var user = await app.PasskeyUserAsync(only);

        var refused = await DeletePasskeyAsync(user.AccessToken, only.PasskeyId);

        Assert.Equal(409, refused.Status);
        Assert.EndsWith("/last-sign-in-method", refused.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, (await app.SignInAsync(only)).Status);

        // With a second passkey the first may go, and then the second is the last.
        using var second = new SoftwareAuthenticator();
        await app.RegisterAsync(second, user.AccessToken);
        Assert.Equal(204, (await DeletePasskeyAsync(user.AccessToken, only.PasskeyId)).Status);
        Assert.Equal(409, (await DeletePasskeyAsync(user.AccessToken, second.PasskeyId)).Status);
    }

    [Fact]
    public async Task An_account_with_a_password_may_delete_its_only_passkey()
    {
        var user = await app.NewUserAsync("with-password");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);

        Assert.Equal(204, (await DeletePasskeyAsync(user.AccessToken, authenticator.PasskeyId)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task Parallel_deletions_of_every_passkey_of_an_account_without_a_password_leave_one()
    {
        var authenticators = Enumerable.Range(0, 2).Select(_ => new SoftwareAuthenticator()).ToList();
        try
        {
            var user = await app.PasskeyUserAsync(authenticators[0]);
            foreach (var authenticator in authenticators.Skip(1))
            {
                await app.RegisterAsync(authenticator, user.AccessToken);
            }

            // Both passkeys deleted by ten requests each at once: 20 deletions racing for the last way in.
            var answers = await Task.WhenAll(authenticators.SelectMany(a => Enumerable.Repeat(a.PasskeyId, 10)).Select(id => DeletePasskeyAsync(user.AccessToken, id)));

            Assert.Equal(1, answers.Count(answer => answer.Status == 204));
            Assert.All(answers, answer => Assert.Contains(answer.Status, new[] { 204, 404, 409 }));
            var left = Assert.Single(await PasskeyIdsAsync(user.AccessToken));
            Assert.Equal(200, (await app.SignInAsync(authenticators.Single(a => a.PasskeyId == left))).Status);
        }
        finally
        {
            authenticators.ForEach(a => a.Dispose());
        }
    }

    [Fact]
    public async Task An_account_without_a_password_is_deleted_with_a_fresh_assertion_of_its_own_passkey()
    {
        using var authenticator = new SoftwareAuthenticator();
        var user = await app.PasskeyUserAsync(authenticator);

        var deleted = await app.SendAsync("DELETE", "/api/me",
            System.Text.Json.JsonSerializer.Serialize(new { passkeyAssertion = authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin) }),
            "application/json", user.AccessToken);

        Assert.True(deleted.Status == 204, deleted.ToString());
        Assert.Equal(401, (await app.GetAsync("/api/me", user.AccessToken)).Status);
        Assert.Equal(401, (await app.SignInAsync(authenticator)).Status);
        Assert.False(await IdClaimedAsync(authenticator.PasskeyId));
        var rows = await app.Table(AppTables.Users).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {app.AccountKey(user.Email)}")).ToListAsync();
        Assert.Empty(rows);
    }

    [Fact]
    public async Task Deleting_the_account_with_a_password_deletes_its_passkeys_and_frees_their_credential_ids()
    {
        var user = await app.NewUserAsync("leaving");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);
        Assert.True(await IdClaimedAsync(authenticator.PasskeyId));

        var deleted = await app.SendAsync("DELETE", "/api/me", """{"password":"correct horse battery staple"}""", "application/json", user.AccessToken);

        Assert.Equal(204, deleted.Status);
        Assert.Equal(401, (await app.SignInAsync(authenticator)).Status);
        Assert.False(await IdClaimedAsync(authenticator.PasskeyId));

        // The same email signs up again; the old passkey (same user handle) still does not get in, and its id can be registered anew.
        var again = SignedInUser.From(user.Email, (await app.SignupAsync(user.Email)).Json);
        Assert.Equal(401, (await app.SignInAsync(authenticator)).Status);
        await app.RegisterAsync(authenticator, again.AccessToken);
        Assert.Equal(again.Id, (await app.SignInAsync(authenticator)).Json.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Deleting_the_account_with_another_accounts_passkey_is_400_and_counts_as_a_failed_login()
    {
        using var victimKey = new SoftwareAuthenticator();
        var victim = await app.PasskeyUserAsync(victimKey, "victim");
        using var attackerKey = new SoftwareAuthenticator();
        await app.PasskeyUserAsync(attackerKey, "attacker");

        var answers = new List<TestResponse>();
        for (var attempt = 0; attempt < 6; attempt++)
        {
            answers.Add(await app.SendAsync("DELETE", "/api/me",
                System.Text.Json.JsonSerializer.Serialize(new { passkeyAssertion = attackerKey.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin) }),
                "application/json", victim.AccessToken));
        }

        Assert.All(answers.Take(5), answer =>
        {
            Assert.Equal(400, answer.Status);
            Assert.True(answer.Json.GetProperty("errors").TryGetProperty("passkeyAssertion", out _));
        });
        Assert.Equal(429, answers[5].Status);
        Assert.Equal(200, (await app.GetAsync("/api/me", victim.AccessToken)).Status);
        Assert.Equal(200, (await app.SignInAsync(victimKey)).Status);
    }

    [Fact]
    public async Task Deleting_the_account_with_a_used_or_registration_challenge_is_400()
    {
        using var authenticator = new SoftwareAuthenticator();
        var user = await app.PasskeyUserAsync(authenticator);
        var options = await app.SignInOptionsAsync();
        Assert.Equal(200, (await app.SendSignInAsync(authenticator.Get(options, PasskeyFlows.Origin))).Status);

        var used = await app.SendAsync("DELETE", "/api/me",
            System.Text.Json.JsonSerializer.Serialize(new { passkeyAssertion = authenticator.Get(options, PasskeyFlows.Origin) }), "application/json", user.AccessToken);
        var registration = await app.SendAsync("DELETE", "/api/me",
            System.Text.Json.JsonSerializer.Serialize(new
            {
                passkeyAssertion = authenticator.Get(options, PasskeyFlows.Origin,
                    challenge: (await app.RegistrationOptionsAsync(user.AccessToken)).GetProperty("challenge").GetString()),
            }), "application/json", user.AccessToken);

        Assert.Equal(400, used.Status);
        Assert.Equal(400, registration.Status);
        Assert.Equal(200, (await app.GetAsync("/api/me", user.AccessToken)).Status);
    }

    [Fact]
    public async Task An_expired_assertion_cannot_delete_the_account()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var timed = TestApp.Create(azurite.ConnectionString, clock);
        using var authenticator = new SoftwareAuthenticator();
        var user = await timed.PasskeyUserAsync(authenticator);
        var assertion = authenticator.Get(await timed.SignInOptionsAsync(), PasskeyFlows.Origin);

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var late = await timed.SendAsync("DELETE", "/api/me", System.Text.Json.JsonSerializer.Serialize(new { passkeyAssertion = assertion }), "application/json", user.AccessToken);

        Assert.Equal(400, late.Status);
        Assert.Equal(200, (await timed.GetAsync("/api/me", user.AccessToken)).Status);
    }

    [Fact]
    public async Task A_password_reset_adds_a_password_to_a_passkey_only_account()
    {
        var (mailApp, mail, _) = await MailTestApps.CreateAsync(azurite.ConnectionString);
        await using var _ = mailApp;
        using var authenticator = new SoftwareAuthenticator();
        var user = await mailApp.PasskeyUserAsync(authenticator);
        Assert.False(await HasPasswordAsync(mailApp, user.AccessToken));
        Assert.Equal(401, (await mailApp.LoginAsync(user.Email, "a brand new passphrase of mine")).Status);

        Assert.Equal(202, (await mailApp.RequestResetAsync(user.Email)).Status);
        var token = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");
        var reset = await mailApp.ConfirmResetAsync(token, "a brand new passphrase of mine");

        Assert.True(reset.Status == 200, reset.ToString());
        Assert.True(await HasPasswordAsync(mailApp, reset.Json.GetProperty("accessToken").GetString()!));
        Assert.Equal(200, (await mailApp.LoginAsync(user.Email, "a brand new passphrase of mine")).Status);
        Assert.Equal(200, (await mailApp.SignInAsync(authenticator)).Status);
        // With a password, the last passkey may go now.
        Assert.Equal(204, (await mailApp.SendAsync("DELETE", "/api/me/passkeys/" + authenticator.PasskeyId, bearer: reset.Json.GetProperty("accessToken").GetString())).Status);
    }

    [Fact]
    public async Task An_account_made_with_a_password_says_it_has_one()
    {
        var user = await app.NewUserAsync("has-password");

        Assert.True(await HasPasswordAsync(app, user.AccessToken));
    }

    private static async Task<bool> HasPasswordAsync(TestApp app, string accessToken)
    {
        var me = await app.GetAsync("/api/me", accessToken);
        Assert.True(me.Status == 200, me.ToString());
        return me.Json.GetProperty("hasPassword").GetBoolean();
    }

    [Fact]
    public async Task A_passkey_signup_sends_the_verification_mail()
    {
        var (mailApp, mail, _) = await MailTestApps.CreateAsync(azurite.ConnectionString);
        await using var _ = mailApp;
        using var authenticator = new SoftwareAuthenticator();

        var user = await mailApp.PasskeyUserAsync(authenticator);
        var token = (await mail.WaitForMailAsync(user.Email, "Confirm your email")).Token("verify");

        Assert.Equal(204, (await mailApp.VerifyEmailAsync(token)).Status);
        Assert.True((await mailApp.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("emailVerified").GetBoolean());
    }

    [Fact]
    public async Task Registering_the_accounts_own_passkey_again_is_409_and_the_passkey_keeps_working()
    {
        var user = await app.NewUserAsync("again");
        using var authenticator = new SoftwareAuthenticator();
        await app.RegisterAsync(authenticator, user.AccessToken);
        using var same = new SoftwareAuthenticator(authenticator.CredentialId);

        var again = await app.SendRegistrationAsync(user.AccessToken, same.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin));

        Assert.Equal(409, again.Status);
        Assert.True(await IdClaimedAsync(authenticator.PasskeyId));
        Assert.Equal(200, (await app.SignInAsync(authenticator)).Status);
    }

    [Fact]
    public async Task A_claim_left_behind_without_its_passkey_is_taken_over_once_abandoned_and_not_before()
    {
        var user = await app.NewUserAsync("heir");
        using var abandoned = new SoftwareAuthenticator();
        using var recent = new SoftwareAuthenticator();
        var claims = app.Table(AppTables.PasskeyIds);
        // As a passkey deletion that stopped between its batch and the release would leave them: claims of an account
        // that has no such passkey.
        await claims.AddEntityAsync(new TableEntity(abandoned.PasskeyId, Functions.Passkeys.PasskeyStore.ClaimRowKey)
        {
            ["UserId"] = "someone-else", ["AccountKey"] = app.AccountKey("someone@example.com"), ["ClaimedAt"] = DateTime.UtcNow.AddMinutes(-11),
        }, TestContext.Current.CancellationToken);
        await claims.AddEntityAsync(new TableEntity(recent.PasskeyId, Functions.Passkeys.PasskeyStore.ClaimRowKey)
        {
            ["UserId"] = "someone-else", ["AccountKey"] = app.AccountKey("someone@example.com"), ["ClaimedAt"] = DateTime.UtcNow.AddMinutes(-1),
        }, TestContext.Current.CancellationToken);

        var takenOver = await app.SendRegistrationAsync(user.AccessToken, abandoned.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin));
        var stillHeld = await app.SendRegistrationAsync(user.AccessToken, recent.Create(await app.RegistrationOptionsAsync(user.AccessToken), PasskeyFlows.Origin));

        Assert.True(takenOver.Status == 201, takenOver.ToString());
        Assert.Equal(user.Id, (await claims.GetEntityAsync<TableEntity>(abandoned.PasskeyId, Functions.Passkeys.PasskeyStore.ClaimRowKey,
            cancellationToken: TestContext.Current.CancellationToken)).Value.GetString("UserId"));
        Assert.Equal(200, (await app.SignInAsync(abandoned)).Status);
        Assert.Equal(409, stillHeld.Status);
    }
}
