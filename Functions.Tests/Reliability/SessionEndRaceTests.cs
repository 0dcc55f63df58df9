using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Sessions;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// A request that ends every session of the account (reset confirm, password change, sign out everywhere) reads the
/// sessions, then ends them in one batch with its own writes. A logout of one of those sessions landing in between used to
/// fail that batch (the row it deletes is gone): the confirm answered 400 and had to be sent again. It must answer as if
/// the logout had come first, and the reset token must stay single-use.
/// </summary>
public sealed class SessionEndRaceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string NewPassword = "a completely new passphrase after the race";
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private StorageFaultPolicy faults = null!;

    public async ValueTask InitializeAsync()
    {
        (app, mail, _) = await MailTestApps.CreateAsync(azurite.ConnectionString, configureServices: services => StorageFaultPolicy.AddTo(services));
        faults = app.Services.GetRequiredService<StorageFaultPolicy>();
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task A_reset_confirm_whose_batch_meets_a_session_just_logged_out_answers_200()
    {
        var (user, others) = await UserWithSessionsAsync("reset-race", extraLogins: 2);
        var token = await ResetTokenAsync(user.Email);

        // Just before the confirm's batch is sent, a logout of one of the sessions it read lands.
        var fault = LogOutBeforeBatches([others[0]], times: 1);
        var confirmed = await app.ConfirmResetAsync(token, NewPassword);
        faults.Clear();

        Assert.Equal(1, fault.Hits);
        await AssertTheConfirmWonAsync(user, others, confirmed, token);
    }

    [Fact]
    public async Task A_reset_confirm_that_meets_a_logout_before_every_batch_still_answers_200_once()
    {
        var (user, others) = await UserWithSessionsAsync("reset-storm", extraLogins: 6);
        var token = await ResetTokenAsync(user.Email);

        // Every batch the confirm sends meets one more session logged out a moment before.
        var fault = LogOutBeforeBatches([user, .. others], times: int.MaxValue);
        var confirmed = await app.ConfirmResetAsync(token, NewPassword);
        faults.Clear();

        Assert.True(fault.Hits >= 3, $"{fault.Hits} batches met a logout");
        await AssertTheConfirmWonAsync(user, others, confirmed, token);
    }

    [Fact]
    public async Task Ten_parallel_confirms_of_one_token_racing_logouts_of_every_session_give_exactly_one_200()
    {
        var (user, others) = await UserWithSessionsAsync("reset-ten", extraLogins: 4);
        var token = await ResetTokenAsync(user.Email);

        SignedInUser[] everyone = [user, .. others];
        var confirms = Enumerable.Range(0, 10).Select(i => Task.Run(() => app.ConfirmResetAsync(token, $"{NewPassword} number {i}"))).ToList();
        var logouts = everyone.Select((session, i) => Task.Run(async () =>
        {
            await Task.Delay(i * 10);
            return await LogOutAsync(session);
        })).ToList();
        var answers = await Task.WhenAll(confirms);
        var loggedOut = await Task.WhenAll(logouts);

        Assert.All(loggedOut, answer => Assert.Equal(204, answer.Status));
        var winner = Assert.Single(answers, answer => answer.Status == 200);
        Assert.All(answers.Where(answer => answer.Status != 200), answer => Assert.True(answer.Status == 400, answer.ToString()));
        await AssertOnlySessionLeftAsync(user.Email, winner);
        await AssertOldSessionsEndedAsync([user, .. others]);
    }

    [Fact]
    public async Task A_reset_confirm_racing_logouts_of_every_session_answers_200_and_ends_them_all()
    {
        for (var round = 0; round < 5; round++)
        {
            var (user, others) = await UserWithSessionsAsync($"reset-parallel-{round}", extraLogins: 3);
            var token = await ResetTokenAsync(user.Email);

            var (confirmed, loggedOut) = await RaceAsync(() => app.ConfirmResetAsync(token, NewPassword), [user, .. others]);

            Assert.True(confirmed.Status == 200, $"round {round}: {confirmed}");
            Assert.All(loggedOut, answer => Assert.True(answer.Status == 204, $"round {round}: {answer}"));
            await AssertOnlySessionLeftAsync(user.Email, confirmed);
            await AssertOldSessionsEndedAsync([user, .. others]);
            Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
        }
    }

    [Fact]
    public async Task A_password_change_whose_batch_meets_a_session_just_logged_out_answers_200()
    {
        var (user, others) = await UserWithSessionsAsync("change-race", extraLogins: 2);

        var fault = LogOutBeforeBatches([others[0]], times: 1);
        var changed = await ChangeAsync(user);
        faults.Clear();

        Assert.Equal(1, fault.Hits);
        Assert.True(changed.Status == 200, changed.ToString());
        await AssertOnlySessionLeftAsync(user.Email, changed);
        await AssertOldSessionsEndedAsync([user, .. others]);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
    }

    [Fact]
    public async Task A_password_change_that_meets_a_logout_before_every_batch_still_answers_200()
    {
        var (user, others) = await UserWithSessionsAsync("change-storm", extraLogins: 6);

        var fault = LogOutBeforeBatches(others, times: int.MaxValue);
        var changed = await ChangeAsync(user);
        faults.Clear();

        Assert.True(fault.Hits >= 3, $"{fault.Hits} batches met a logout");
        Assert.True(changed.Status == 200, changed.ToString());
        await AssertOnlySessionLeftAsync(user.Email, changed);
        await AssertOldSessionsEndedAsync([user, .. others]);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
    }

    [Fact]
    public async Task A_password_change_racing_logouts_of_every_other_session_answers_200_and_ends_them_all()
    {
        for (var round = 0; round < 5; round++)
        {
            var (user, others) = await UserWithSessionsAsync($"change-parallel-{round}", extraLogins: 3);

            var (changed, loggedOut) = await RaceAsync(() => ChangeAsync(user), others);

            Assert.True(changed.Status == 200, $"round {round}: {changed}");
            Assert.All(loggedOut, answer => Assert.True(answer.Status == 204, $"round {round}: {answer}"));
            await AssertOnlySessionLeftAsync(user.Email, changed);
            await AssertOldSessionsEndedAsync([user, .. others]);
            Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
        }
    }

    [Fact]
    public async Task Signing_out_everywhere_while_a_logout_lands_before_every_batch_ends_every_session()
    {
        var (user, others) = await UserWithSessionsAsync("everywhere-storm", extraLogins: 4);

        var fault = LogOutBeforeBatches(others, times: int.MaxValue);
        var ended = await app.SendAsync("DELETE", "/api/me/sessions", bearer: user.AccessToken);
        faults.Clear();

        Assert.True(fault.Hits >= 1, $"{fault.Hits} batches met a logout");
        Assert.True(ended.Status == 204, ended.ToString());
        Assert.Empty(await app.Services.GetRequiredService<SessionStore>().ListAsync(app.AccountKey(user.Email), TestContext.Current.CancellationToken));
        await AssertOldSessionsEndedAsync([user, .. others]);
    }

    private async Task<(SignedInUser User, SignedInUser[] Others)> UserWithSessionsAsync(string name, int extraLogins)
    {
        var user = await app.NewUserAsync(name);
        var others = new SignedInUser[extraLogins];
        for (var i = 0; i < extraLogins; i++)
        {
            var login = await app.LoginAsync(user.Email);
            Assert.Equal(200, login.Status);
            others[i] = SignedInUser.From(user.Email, login.Json);
        }

        return (user, others);
    }

    private async Task<string> ResetTokenAsync(string email)
    {
        Assert.Equal(202, (await app.RequestResetAsync(email)).Status);
        return (await mail.WaitForMailAsync(email, "Reset your")).Token("reset");
    }

    private Task<TestResponse> ChangeAsync(SignedInUser user) =>
        app.SendAsync("PUT", "/api/me/password", JsonSerializer.Serialize(new { currentPassword = AccountsTestExtensions.GoodPassword, newPassword = NewPassword }),
            "application/json", user.AccessToken);

    private Task<TestResponse> LogOutAsync(SignedInUser session) => app.PostJsonAsync("/api/auth/logout", new { refreshToken = session.RefreshToken });

    /// <summary>Just before each of the next <paramref name="times"/> batches is sent, the next of <paramref name="sessions"/> logs out.</summary>
    private StorageFault LogOutBeforeBatches(IEnumerable<SignedInUser> sessions, int times)
    {
        var next = new ConcurrentQueue<SignedInUser>(sessions);
        var fault = StorageFault.BeforeSend("POST", StorageFault.Batch, async () =>
        {
            if (next.TryDequeue(out var session))
            {
                Assert.Equal(204, (await LogOutAsync(session)).Status);
            }
        }, times);
        faults.Inject(fault);
        return fault;
    }

    /// <summary>
    /// The operation and a logout of each session, all at once: the logouts start at random moments of the operation's
    /// first 600 ms, and batches take 100 ms longer, so that a logout often lands between its read and its batch.
    /// </summary>
    private async Task<(TestResponse Operation, TestResponse[] Logouts)> RaceAsync(Func<Task<TestResponse>> operation, IEnumerable<SignedInUser> sessions)
    {
        faults.Inject(StorageFault.BeforeSend("POST", StorageFault.Batch, () => Task.Delay(100), times: int.MaxValue));
        try
        {
            var started = Task.Run(operation);
            var logouts = sessions.Select(session => Task.Run(async () =>
            {
                await Task.Delay(Random.Shared.Next(600));
                return await LogOutAsync(session);
            })).ToList();
            return (await started, await Task.WhenAll(logouts));
        }
        finally
        {
            faults.Clear();
        }
    }

    /// <summary>The confirm answered 200 with the one session left, every old one ended, the new password works, the token is spent.</summary>
    private async Task AssertTheConfirmWonAsync(SignedInUser user, SignedInUser[] others, TestResponse confirmed, string token)
    {
        Assert.True(confirmed.Status == 200, confirmed.ToString());
        await AssertOnlySessionLeftAsync(user.Email, confirmed);
        await AssertOldSessionsEndedAsync([user, .. others]);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
        Assert.Equal(400, (await app.ConfirmResetAsync(token, "yet another new passphrase here")).Status);
    }

    private async Task AssertOnlySessionLeftAsync(string email, TestResponse answer)
    {
        var session = SignedInUser.From(email, answer.Json);
        var left = await app.Services.GetRequiredService<SessionStore>().ListAsync(app.AccountKey(email), TestContext.Current.CancellationToken);
        Assert.Equal(RefreshToken.TryParse(session.RefreshToken)!.SessionId, Assert.Single(left).SessionId);
        Assert.Equal(200, (await app.RefreshAsync(session.RefreshToken)).Status);
    }

    private async Task AssertOldSessionsEndedAsync(IEnumerable<SignedInUser> sessions)
    {
        foreach (var session in sessions)
        {
            Assert.Equal(401, (await app.RefreshAsync(session.RefreshToken)).Status);
        }
    }
}
