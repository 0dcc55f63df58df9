using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Cleanup;
using Serverless.Functions.Deletion;
using Serverless.Functions.Limits;
using Serverless.Functions.Mfa;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Passkeys;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mfa;

/// <summary>Two-step sign-in from set-up to turning it off: its answers, its rows, its mails, its keys, its cleanup and deletion.</summary>
public sealed class MfaLifecycleTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private FakeTimeProvider clock = null!;

    public async ValueTask InitializeAsync() => (app, mail, clock) = await MailTestApps.CreateAsync(azurite.ConnectionString);

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Set_up_shows_the_secret_as_text_uri_and_qr_and_turns_nothing_on_until_a_code_confirms_it()
    {
        var user = await app.NewUserAsync("enrol");

        var enrolled = await app.EnrolAsync(user);

        Assert.Equal(200, enrolled.Status);
        Assert.Equal("no-store", enrolled.Header("Cache-Control"));
        var secretText = enrolled.Json.GetProperty("secret").GetString()!;
        Assert.Equal(20, MfaFlows.FromBase32(secretText).Length);
        var uri = new Uri(enrolled.Json.GetProperty("otpauthUri").GetString()!);
        Assert.Equal("otpauth", uri.Scheme);
        Assert.Equal("totp", uri.Host);
        Assert.Contains("secret=" + secretText, uri.Query, StringComparison.Ordinal);
        Assert.StartsWith("<svg", enrolled.Json.GetProperty("qrSvg").GetString()!.TrimStart(), StringComparison.Ordinal);
        Assert.False((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("mfaEnabled").GetBoolean());
        // A sign-in still needs only the password.
        Assert.True(MfaFlows.IsSession(await app.LoginAsync(user.Email)));

        var secret = MfaFlows.FromBase32(secretText);
        Assert.Equal(400, (await app.ConfirmTotpAsync(user, MfaFlows.CodeAt(secret, clock.GetUtcNow().AddMinutes(5)))).Status);
        Assert.False((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("mfaEnabled").GetBoolean());

        var confirmed = await app.ConfirmTotpAsync(user, MfaFlows.CodeNow(secret, clock));

        Assert.Equal(200, confirmed.Status);
        var codes = confirmed.Json.GetProperty("recoveryCodes").EnumerateArray().Select(code => code.GetString()!).ToList();
        Assert.Equal(10, codes.Count);
        Assert.Equal(10, codes.Distinct().Count());
        Assert.True((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("mfaEnabled").GetBoolean());
        Assert.Equal(409, (await app.EnrolAsync(user)).Status);
    }

    [Fact]
    public async Task A_wrong_password_at_set_up_is_400_and_counts_as_a_failed_login()
    {
        var user = await app.NewUserAsync("wrong-proof");
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            Assert.Equal(400, (await app.EnrolAsync(user, $"not the password {i}")).Status);
        }

        Assert.Equal(429, (await app.EnrolAsync(user)).Status);
        Assert.Equal(429, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task The_secret_is_stored_encrypted_under_a_key_id_and_the_recovery_codes_only_as_hashes()
    {
        var user = await app.NewUserAsync("at-rest");
        var (secret, codes) = await app.TurnOnAsync(user, clock);

        var row = await TotpRowAsync(user.Email);
        var stored = row.GetString("Secret")!;
        var keyId = TotpKey.From(Encoding.UTF8.GetBytes(TestApp.TestTotpSecretKey)).Id;
        Assert.StartsWith(keyId + ".", stored, StringComparison.Ordinal);
        var sealedBytes = System.Buffers.Text.Base64Url.DecodeFromChars(stored.AsSpan(keyId.Length + 1));
        Assert.True(sealedBytes.AsSpan().IndexOf(secret) < 0, "The secret's bytes are in the stored value.");
        var everything = string.Join(" ", row.Select(pair => pair.Value?.ToString()));
        Assert.DoesNotContain(Convert.ToBase64String(secret), everything, StringComparison.Ordinal);
        Assert.DoesNotContain(OtpNet.Base32Encoding.ToString(secret), everything, StringComparison.OrdinalIgnoreCase);
        Assert.All(codes, code => Assert.DoesNotContain(code.Replace("-", "", StringComparison.Ordinal), everything, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(10, row.GetString("RecoveryCodes")!.Split(' ').Length);
    }

    [Fact]
    public async Task After_a_key_rotation_old_secrets_still_verify_and_are_encrypted_again_under_the_new_key()
    {
        var user = await app.NewUserAsync("rotation");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        const string NewKey = "tests-only-the-next-totp-secret-key-0123456789-abcdefghijklmnopqrs";
        await using var rotated = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:TotpSecretKey"] = NewKey,
            ["Auth:PreviousTotpSecretKey"] = TestApp.TestTotpSecretKey,
        }, services => services.AddSingleton<TimeProvider>(clock));
        var protector = rotated.Services.GetRequiredService<TotpSecretProtector>();
        var stored = (await TotpRowAsync(user.Email)).GetString("Secret")!;
        Assert.Equal(secret, protector.Unprotect(app.AccountKey(user.Email), stored));
        // Not under another account's key: the account key is the cipher's associated data.
        Assert.Null(protector.Unprotect(app.AccountKey("someone.else@example.com"), stored));

        // The rotated app is another instance on the same tables: a sign-in there re-encrypts the secret.
        var rotatedOnOurTables = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:TotpSecretKey"] = NewKey,
            ["Auth:PreviousTotpSecretKey"] = TestApp.TestTotpSecretKey,
        }, services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton(provider => new AppTables(provider.GetRequiredService<Azure.Data.Tables.TableServiceClient>(),
                provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<AppTables>>(), app.TablePrefix));
        });
        await using (rotatedOnOurTables)
        {
            var token = await rotatedOnOurTables.StartSignInAsync(user.Email);
            Assert.True(MfaFlows.IsSession(await rotatedOnOurTables.FinishWithCodeAsync(token, MfaFlows.CodeNow(secret, clock))));
        }

        Assert.StartsWith(TotpKey.From(Encoding.UTF8.GetBytes(NewKey)).Id + ".", (await TotpRowAsync(user.Email)).GetString("Secret")!, StringComparison.Ordinal);
        // A key that is neither decrypts nothing.
        var unrelated = new TotpSecretProtector(new MfaOptions { Current = TotpKey.From(Encoding.UTF8.GetBytes(new string('z', 40))) });
        Assert.Null(unrelated.Unprotect(app.AccountKey(user.Email), stored));
    }

    [Fact]
    public async Task Turning_it_on_ends_the_other_sessions_keeps_the_callers_and_mails_a_notice()
    {
        var user = await app.NewUserAsync("notice-on");
        var other = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);

        await app.TurnOnAsync(user, clock);

        Assert.Equal(401, (await app.RefreshAsync(other.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Contains("turned on", (await mail.WaitForMailAsync(user.Email, "Two-step sign-in was turned on")).PlainText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Turning_it_off_takes_the_password_and_a_code_ends_the_other_sessions_and_a_password_signs_in_again()
    {
        var user = await app.NewUserAsync("off");
        var (secret, codes) = await app.TurnOnAsync(user, clock);
        var other = SignedInUser.From(user.Email, (await app.FinishWithCodeAsync(await app.StartSignInAsync(user.Email), MfaFlows.CodeNow(secret, clock))).Json);
        clock.NextStep();

        Assert.Equal(400, (await Off(user, AccountsTestExtensions.GoodPassword, code: "000000")).Status);
        Assert.Equal(400, (await Off(user, "not the password", code: MfaFlows.CodeNow(secret, clock))).Status);
        Assert.Equal(400, (await Off(user, AccountsTestExtensions.GoodPassword)).Status);
        Assert.True((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("mfaEnabled").GetBoolean());

        Assert.Equal(204, (await Off(user, AccountsTestExtensions.GoodPassword, recoveryCode: codes[0])).Status);

        Assert.False((await app.GetAsync("/api/me", user.AccessToken)).Json.GetProperty("mfaEnabled").GetBoolean());
        Assert.Equal(401, (await app.RefreshAsync(other.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.True(MfaFlows.IsSession(await app.LoginAsync(user.Email)));
        Assert.Null(await TotpRowOrNullAsync(user.Email));
        await mail.WaitForMailAsync(user.Email, "Two-step sign-in was turned off");
        Assert.Equal(409, (await Off(user, AccountsTestExtensions.GoodPassword, code: "123456")).Status);
    }

    [Fact]
    public async Task New_recovery_codes_replace_the_old_ones_and_end_the_other_sessions()
    {
        var user = await app.NewUserAsync("renew");
        var (secret, old) = await app.TurnOnAsync(user, clock);
        var other = SignedInUser.From(user.Email, (await app.FinishWithRecoveryCodeAsync(await app.StartSignInAsync(user.Email), old[0])).Json);

        var renewed = await app.PostJsonAsync("/api/me/mfa/recovery-codes", new { password = AccountsTestExtensions.GoodPassword, code = MfaFlows.CodeNow(secret, clock) }, user.AccessToken);

        Assert.Equal(200, renewed.Status);
        var codes = renewed.Json.GetProperty("recoveryCodes").EnumerateArray().Select(code => code.GetString()!).ToList();
        Assert.Equal(10, codes.Count);
        Assert.Equal(401, (await app.RefreshAsync(other.RefreshToken)).Status);
        Assert.Equal(401, (await app.FinishWithRecoveryCodeAsync(await app.StartSignInAsync(user.Email), old[1])).Status);
        Assert.True(MfaFlows.IsSession(await app.FinishWithRecoveryCodeAsync(await app.StartSignInAsync(user.Email), codes[0])));
        await mail.WaitForMailAsync(user.Email, "New recovery codes");
    }

    [Fact]
    public async Task A_passkey_sign_in_with_user_verification_needs_no_code_and_a_passkey_only_account_sets_it_up_with_a_passkey()
    {
        using var authenticator = new SoftwareAuthenticator();
        var user = await app.PasskeyUserAsync(authenticator);

        var enrolled = await app.PostJsonAsync("/api/me/mfa/totp",
            new { passkeyAssertion = authenticator.Get(await app.SignInOptionsAsync(), PasskeyFlows.Origin) }, user.AccessToken);
        Assert.Equal(200, enrolled.Status);
        var secret = MfaFlows.FromBase32(enrolled.Json.GetProperty("secret").GetString()!);
        Assert.Equal(200, (await app.ConfirmTotpAsync(user, MfaFlows.CodeNow(secret, clock))).Status);

        Assert.True(MfaFlows.IsSession(await app.SignInAsync(authenticator)));
    }

    [Fact]
    public async Task Deleting_the_account_deletes_its_secret_codes_enrolment_and_tokens_and_so_does_a_purge_on_its_own()
    {
        var user = await app.NewUserAsync("delete");
        await app.TurnOnAsync(user, clock);
        await app.StartSignInAsync(user.Email);
        var key = app.AccountKey(user.Email);
        Assert.NotEmpty(await MfaRowKeysAsync(key));

        // The purge alone (a request that died after enqueueing it) removes them too.
        await app.Services.GetRequiredService<AccountDeletionService>().PurgeAsync(new PurgeMessage(user.Id, key), TestContext.Current.CancellationToken);
        Assert.Empty(await MfaRowKeysAsync(key));

        var second = await app.NewUserAsync("delete-request");
        await app.TurnOnAsync(second, clock);
        await app.EnrolAsync(second);
        var secondKey = app.AccountKey(second.Email);
        Assert.Equal(204, (await app.SendAsync("DELETE", "/api/me", """{"password":"correct horse battery staple"}""", "application/json", second.AccessToken)).Status);
        Assert.Empty(await MfaRowKeysAsync(secondKey));
    }

    [Fact]
    public async Task The_cleanup_removes_expired_enrolments_and_mfa_tokens_and_keeps_live_ones()
    {
        var user = await app.NewUserAsync("cleanup");
        await app.TurnOnAsync(user, clock);
        await app.StartSignInAsync(user.Email);
        var pending = await app.NewUserAsync("cleanup-pending");
        Assert.Equal(200, (await app.EnrolAsync(pending)).Status);
        var cleanup = app.Services.GetRequiredService<ExpiredRowsCleanup>();

        await cleanup.RunAsync(TestContext.Current.CancellationToken);
        Assert.Contains(await MfaRowKeysAsync(app.AccountKey(user.Email)), rowKey => rowKey.StartsWith(MfaToken.RowKeyPrefix, StringComparison.Ordinal));
        Assert.Contains(MfaStore.PendingRowKey, await MfaRowKeysAsync(app.AccountKey(pending.Email)));

        clock.Advance(MfaStore.PendingLifetime + TimeSpan.FromSeconds(1));
        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, report.DeletedByKind["mfa-token"]);
        Assert.Equal(1, report.DeletedByKind["mfa-pending"]);
        Assert.Equal([MfaStore.TotpRowKey], await MfaRowKeysAsync(app.AccountKey(user.Email)));
        Assert.Empty(await MfaRowKeysAsync(app.AccountKey(pending.Email)));
    }

    private Task<TestResponse> Off(SignedInUser user, string password, string? code = null, string? recoveryCode = null) =>
        app.SendAsync("DELETE", "/api/me/mfa/totp", System.Text.Json.JsonSerializer.Serialize(new { password, code, recoveryCode }), "application/json", user.AccessToken);

    private async Task<TableEntity> TotpRowAsync(string email) => (await TotpRowOrNullAsync(email))!;

    private async Task<TableEntity?> TotpRowOrNullAsync(string email)
    {
        var key = app.AccountKey(email);
        var response = await app.Table(AppTables.Users).GetEntityIfExistsAsync<TableEntity>(key, MfaStore.TotpRowKey, cancellationToken: TestContext.Current.CancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private async Task<List<string>> MfaRowKeysAsync(string accountKey)
    {
        var keys = new List<string>();
        await foreach (var row in app.Table(AppTables.Users).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}"),
            cancellationToken: TestContext.Current.CancellationToken))
        {
            if (row.RowKey.StartsWith("mfa", StringComparison.Ordinal))
            {
                keys.Add(row.RowKey);
            }
        }

        return keys;
    }
}
