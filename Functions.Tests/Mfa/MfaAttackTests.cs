using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Limits;
using Serverless.Functions.Mfa;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mfa;

/// <summary>
/// What someone with the password (or a code, or a token) tries against two-step sign-in: replaying a code, guessing codes
/// in parallel, going round it with a password reset, using one mfa token twice or another account's, and one recovery
/// code twice at once. Each bound is asserted from above.
/// </summary>
public sealed class MfaAttackTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private FakeTimeProvider clock = null!;

    public async ValueTask InitializeAsync() =>
        // A hash slot for every request, so only the throttle decides.
        (app, mail, clock) = await MailTestApps.CreateAsync(azurite.ConnectionString, new Dictionary<string, string?> { ["Limits:MaxHashesInFlight"] = "64" });

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private long Comparisons => app.Services.GetRequiredService<TotpCodes>().Comparisons;

    private static Task<T[]> AtOnceAsync<T>(int count, Func<int, Task<T>> request) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => request(i))));

    [Fact]
    public async Task A_code_once_accepted_is_refused_again_within_its_window_and_so_is_an_older_one()
    {
        var user = await app.NewUserAsync("replay");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var code = MfaFlows.CodeNow(secret, clock);
        var older = MfaFlows.CodeAt(secret, clock.GetUtcNow().AddSeconds(-30));

        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(await app.StartSignInAsync(user.Email), code)));

        // The same code at once, and still valid 20 seconds on (±1 step): refused; the step before it too (one sign-in,
        // as each refusal spends one of the window's attempts).
        var again = await app.StartSignInAsync(user.Email);
        Assert.Equal(401, (await app.FinishWithCodeAsync(again, code)).Status);
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(401, (await app.FinishWithCodeAsync(again, code)).Status);
        Assert.Equal(401, (await app.FinishWithCodeAsync(again, older)).Status);
        // The next step's code is new: it works, with the same token.
        clock.NextStep();
        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(again, MfaFlows.CodeNow(secret, clock))));
    }

    [Fact]
    public async Task The_code_that_confirmed_the_set_up_cannot_sign_in()
    {
        var user = await app.NewUserAsync("confirm-replay");
        var enrolled = await app.EnrolAsync(user);
        var secret = MfaFlows.FromBase32(enrolled.Json.GetProperty("secret").GetString()!);
        var code = MfaFlows.CodeNow(secret, clock);
        Assert.Equal(200, (await app.ConfirmTotpAsync(user, code)).Status);

        Assert.Equal(401, (await app.FinishWithCodeAsync(await app.StartSignInAsync(user.Email), code)).Status);
    }

    [Fact]
    public async Task Fifty_parallel_wrong_codes_get_at_most_the_budget_compared_and_then_the_right_code_is_429_until_the_window_ends()
    {
        var user = await app.NewUserAsync("guesses");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var token = await app.StartSignInAsync(user.Email);
        var right = MfaFlows.CodeNow(secret, clock);
        var before = Comparisons;

        var answers = await AtOnceAsync(50, i => app.FinishWithCodeAsync(token, WrongCode(secret, i)));

        // The password step holds one of the window's attempts until the sign-in finishes: four are left for codes.
        var compared = Comparisons - before;
        Assert.InRange(compared, 1, LoginThrottle.MaxAttempts - 1);
        Assert.Equal(compared, answers.Count(answer => answer.Status == 401));
        Assert.All(answers.Where(answer => answer.Status != 401), answer => Assert.Equal(429, answer.Status));

        var refused = await app.FinishWithCodeAsync(token, right);
        Assert.Equal(429, refused.Status);
        Assert.InRange(int.Parse(refused.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 1, (int)LoginThrottle.Window.TotalSeconds);
        Assert.Equal(compared, Comparisons - before);
        // The wrong codes counted toward the login throttle: the password is refused as a wrong one would be, unchecked.
        Assert.Equal(429, (await app.LoginAsync(user.Email)).Status);
        Assert.Equal(429, (await app.LoginAsync(user.Email, "not the password at all")).Status);

        clock.Advance(LoginThrottle.Window + TimeSpan.FromSeconds(1));
        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(await app.StartSignInAsync(user.Email), MfaFlows.CodeNow(secret, clock))));
    }

    [Fact]
    public async Task Wrong_codes_one_after_another_spend_the_same_budget_as_wrong_passwords()
    {
        var user = await app.NewUserAsync("sequence");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var right = MfaFlows.CodeNow(secret, clock);
        var token = await app.StartSignInAsync(user.Email);

        for (var i = 0; i < LoginThrottle.MaxAttempts - 1; i++)
        {
            Assert.Equal(401, (await app.FinishWithCodeAsync(token, WrongCode(secret, i))).Status);
        }

        Assert.Equal(429, (await app.FinishWithCodeAsync(token, right)).Status);
        // Signing in with the password again does not give the guesses a new budget.
        Assert.Equal(429, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task A_password_reset_neither_turns_two_step_sign_in_off_nor_signs_in_past_it()
    {
        var user = await app.NewUserAsync("reset");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        var resetToken = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");
        var sessionsBefore = await SessionCountAsync(user.Email);

        var confirmed = await app.ConfirmResetAsync(resetToken, "a completely new passphrase for this");

        Assert.Equal(200, confirmed.Status);
        var mfaToken = MfaFlows.MfaTokenOf(confirmed);
        Assert.Equal(0, await SessionCountAsync(user.Email));
        Assert.True(sessionsBefore > 0);
        // Still on: the new password alone does not sign in either; the reset's token finishes with a code.
        MfaFlows.MfaTokenOf(await app.LoginAsync(user.Email, "a completely new passphrase for this"));
        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(mfaToken, MfaFlows.CodeNow(secret, clock))));
    }

    [Fact]
    public async Task An_mfa_token_from_before_a_password_change_no_longer_finishes_a_sign_in()
    {
        var user = await app.NewUserAsync("stamp");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var token = await app.StartSignInAsync(user.Email);
        Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        var resetToken = (await mail.WaitForMailAsync(user.Email, "Reset your")).Token("reset");
        Assert.Equal(200, (await app.ConfirmResetAsync(resetToken, "a completely new passphrase for this")).Status);

        Assert.Equal(401, (await app.FinishWithCodeAsync(token, MfaFlows.CodeNow(secret, clock))).Status);
    }

    [Fact]
    public async Task Two_parallel_finishes_with_one_token_give_exactly_one_session_and_the_token_is_spent_after()
    {
        var user = await app.NewUserAsync("reuse");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var token = await app.StartSignInAsync(user.Email);
        var code = MfaFlows.CodeNow(secret, clock);
        var sessionsBefore = await SessionCountAsync(user.Email);

        var answers = await AtOnceAsync(2, _ => app.FinishWithCodeAsync(token, code));

        Assert.Equal(1, answers.Count(MfaFlows.IsSession));
        Assert.All(answers.Where(answer => answer.Status != 200), answer => Assert.Contains(answer.Status, new[] { 401, 503 }));
        Assert.Equal(sessionsBefore + 1, await SessionCountAsync(user.Email));
        clock.NextStep();
        Assert.Equal(401, (await app.FinishWithCodeAsync(token, MfaFlows.CodeNow(secret, clock))).Status);
    }

    [Fact]
    public async Task Ten_parallel_finishes_with_one_token_and_fresh_codes_give_at_most_one_session()
    {
        var user = await app.NewUserAsync("reuse10");
        var (secret, recovery) = await app.TurnOnAsync(user, clock);
        var token = await app.StartSignInAsync(user.Email);

        // Different proofs (a code and recovery codes), so only the token can keep them apart.
        var answers = await AtOnceAsync(4, i => i == 0
            ? app.FinishWithCodeAsync(token, MfaFlows.CodeNow(secret, clock))
            : app.FinishWithRecoveryCodeAsync(token, recovery[i]));

        Assert.InRange(answers.Count(MfaFlows.IsSession), 0, 1);
        Assert.Equal(answers.Count(MfaFlows.IsSession), await SessionCountAsync(user.Email) - 1);
    }

    [Fact]
    public async Task Another_accounts_mfa_token_with_this_accounts_code_is_401()
    {
        var first = await app.NewUserAsync("first");
        var second = await app.NewUserAsync("second");
        var (firstSecret, _) = await app.TurnOnAsync(first, clock);
        await app.TurnOnAsync(second, clock);
        var secondToken = await app.StartSignInAsync(second.Email);
        var firstToken = await app.StartSignInAsync(first.Email);
        var code = MfaFlows.CodeNow(firstSecret, clock);

        Assert.Equal(401, (await app.FinishWithCodeAsync(secondToken, code)).Status);
        // Nor the first account's key with the second token's secret: the secret's row is in the second's partition only.
        var spliced = firstToken[..43] + secondToken[43..];
        Assert.Equal(401, (await app.FinishWithCodeAsync(spliced, code)).Status);
        Assert.Equal(401, (await app.FinishWithCodeAsync("not-a-token", code)).Status);
        // The first account's own token still works with its code.
        Assert.True(MfaFlows.IsSession(await app.FinishWithCodeAsync(firstToken, code)));
    }

    [Fact]
    public async Task One_recovery_code_used_twice_in_parallel_works_once()
    {
        var user = await app.NewUserAsync("recovery");
        var (_, recovery) = await app.TurnOnAsync(user, clock);
        var tokens = new[] { await app.StartSignInAsync(user.Email), await app.StartSignInAsync(user.Email) };

        var answers = await AtOnceAsync(2, i => app.FinishWithRecoveryCodeAsync(tokens[i], recovery[0]));

        Assert.Equal(1, answers.Count(MfaFlows.IsSession));
        Assert.All(answers.Where(answer => answer.Status != 200), answer => Assert.Contains(answer.Status, new[] { 401, 503 }));
        Assert.Equal(401, (await app.FinishWithRecoveryCodeAsync(await app.StartSignInAsync(user.Email), recovery[0])).Status);
        // Typed in capitals without dashes, the next one works: it is the same code.
        Assert.True(MfaFlows.IsSession(await app.FinishWithRecoveryCodeAsync(await app.StartSignInAsync(user.Email), recovery[1].Replace("-", "", StringComparison.Ordinal).ToUpperInvariant())));
    }

    [Fact]
    public async Task Two_uses_of_one_recovery_code_read_at_once_cannot_both_land()
    {
        // Parallel requests rarely both get this far (a success clears the throttle, and a request that lost the race to
        // reserve is then told "busy"): this is the last guard, the settings row written under the ETag both read.
        var user = await app.NewUserAsync("recovery-etag");
        var (_, recovery) = await app.TurnOnAsync(user, clock);
        var store = app.Services.GetRequiredService<MfaStore>();
        var key = app.AccountKey(user.Email);
        var (_, rows) = await store.ReadAsync(key, [MfaStore.TotpRowKey], TestContext.Current.CancellationToken);
        var read = MfaStore.TotpOf(rows)!;
        var hash = RecoveryCodes.HashOf(recovery[0])!;
        var used = read with { RecoveryHashes = [.. read.RecoveryHashes.Where(stored => stored != hash)] };

        var first = await store.TrySubmitAsync([MfaStore.UpdateTotpAction(key, used)], null, TestContext.Current.CancellationToken);
        var second = await store.TrySubmitAsync([MfaStore.UpdateTotpAction(key, used)], null, TestContext.Current.CancellationToken);

        Assert.True(first);
        Assert.False(second);
    }

    [Fact]
    public async Task An_expired_mfa_token_is_401_even_with_the_right_code()
    {
        var user = await app.NewUserAsync("expired");
        var (secret, _) = await app.TurnOnAsync(user, clock);
        var token = await app.StartSignInAsync(user.Email);

        clock.Advance(MfaStore.TokenLifetime + TimeSpan.FromSeconds(1));

        Assert.Equal(401, (await app.FinishWithCodeAsync(token, MfaFlows.CodeNow(secret, clock))).Status);
    }

    // Never a code of the steps the app accepts now (this one and either side).
    private string WrongCode(byte[] secret, int i)
    {
        var now = clock.GetUtcNow();
        var valid = new[] { -30, 0, 30 }.Select(seconds => MfaFlows.CodeAt(secret, now.AddSeconds(seconds))).ToHashSet();
        for (var n = i * 7919; ; n++)
        {
            var code = (n % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
            if (!valid.Contains(code))
            {
                return code;
            }
        }
    }

    private async Task<int> SessionCountAsync(string email)
    {
        var accountKey = app.AccountKey(email);
        var count = 0;
        await foreach (var _ in app.Table(AppTables.Users).QueryAsync<Azure.Data.Tables.TableEntity>(
            $"PartitionKey eq '{accountKey}' and RowKey gt '{SessionStore.RowKeyPrefix}' and RowKey lt 'session.'"))
        {
            count++;
        }

        return count;
    }
}
