using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mail;

/// <summary>docs/api.md's password reset, end to end with real Azurite and smtp4dev, including what an attacker would try.</summary>
public sealed class PasswordResetTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string NewPassword = "a completely new passphrase for this";
    private TestApp app = null!;
    private Smtp4devServer mail = null!;
    private FakeTimeProvider clock = null!;

    public async ValueTask InitializeAsync() => (app, mail, clock) = await MailTestApps.CreateAsync(azurite.ConnectionString);

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<string> ResetTokenAsync(string email, int mailNumber = 0)
    {
        Assert.Equal(202, (await app.RequestResetAsync(email)).Status);
        return (await mail.WaitForMailAsync(email, "Reset your", skip: mailNumber)).Token("reset");
    }

    [Fact]
    public async Task A_reset_sets_the_password_signs_in_ends_every_other_session_and_marks_the_email_verified()
    {
        var user = await app.NewUserAsync("reset");
        var otherLogin = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);
        var token = await ResetTokenAsync(user.Email);

        var confirmed = await app.ConfirmResetAsync(token, NewPassword);

        Assert.Equal(200, confirmed.Status);
        Assert.True(confirmed.Json.GetProperty("user").GetProperty("emailVerified").GetBoolean());
        var session = SignedInUser.From(user.Email, confirmed.Json);
        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(401, (await app.RefreshAsync(otherLogin.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(session.RefreshToken)).Status);
        Assert.Equal(401, (await app.LoginAsync(user.Email)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
        Assert.True((await app.GetAsync("/api/me", session.AccessToken)).Json.GetProperty("emailVerified").GetBoolean());
        Assert.Equal(400, (await app.ConfirmResetAsync(token, "yet another new passphrase here")).Status);
    }

    [Fact]
    public async Task Ten_parallel_confirms_of_one_token_give_exactly_one_200()
    {
        var user = await app.NewUserAsync("parallel");
        var token = await ResetTokenAsync(user.Email);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => app.ConfirmResetAsync(token, $"{NewPassword} number {i}")));

        Assert.Equal(1, answers.Count(answer => answer.Status == 200));
        Assert.All(answers.Where(answer => answer.Status != 200), answer => Assert.Equal(400, answer.Status));
    }

    [Fact]
    public async Task A_reset_clears_the_login_throttle()
    {
        var user = await app.NewUserAsync("throttled");
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            await app.LoginAsync(user.Email, $"wrong password number {i}");
        }

        Assert.Equal(429, (await app.LoginAsync(user.Email)).Status);
        var token = await ResetTokenAsync(user.Email);

        Assert.Equal(200, (await app.ConfirmResetAsync(token, NewPassword)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
    }

    [Fact]
    public async Task A_weak_new_password_is_400_and_leaves_the_token_usable()
    {
        var user = await app.NewUserAsync("weak");
        var token = await ResetTokenAsync(user.Email);

        var weak = await app.ConfirmResetAsync(token, "short");

        Assert.Equal(400, weak.Status);
        Assert.True(weak.Json.GetProperty("errors").TryGetProperty("newPassword", out _));
        Assert.Equal(200, (await app.ConfirmResetAsync(token, NewPassword)).Status);
    }

    [Fact]
    public async Task A_reset_link_expires_after_30_minutes()
    {
        var user = await app.NewUserAsync("late");
        var token = await ResetTokenAsync(user.Email);

        clock.Advance(TimeSpan.FromMinutes(30));

        Assert.Equal(400, (await app.ConfirmResetAsync(token, NewPassword)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task An_unknown_email_gets_the_same_answer_and_no_mail()
    {
        var user = await app.NewUserAsync("known");
        var unknown = AccountsTestExtensions.UniqueEmail("nobody");

        var known = await app.RequestResetAsync(user.Email);
        var stranger = await app.RequestResetAsync(unknown);
        await app.MailsSentAsync();

        Assert.Equal(202, known.Status);
        Assert.Equal(known.Status, stranger.Status);
        Assert.Equal(known.Body, stranger.Body);
        Assert.Equal(known.ContentType, stranger.ContentType);
        Assert.Single(await mail.MailsToAsync(user.Email, "Reset your"));
        Assert.Empty(await mail.MailsToAsync(unknown, "Reset your"));
    }

    [Fact]
    public async Task Ten_parallel_requests_for_one_account_send_at_most_three_mails_an_hour()
    {
        var user = await app.NewUserAsync("flood");

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => app.RequestResetAsync(user.Email)));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        }

        await app.MailsSentAsync();

        Assert.All(answers, answer => Assert.Equal(202, answer.Status));
        var sent = (await mail.MailsToAsync(user.Email, "Reset your")).Count;
        Assert.Equal(MailService.MaxResetMailsPerHour, sent);

        clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(202, (await app.RequestResetAsync(user.Email)).Status);
        await app.MailsSentAsync();
        Assert.Equal(sent + 1, (await mail.MailsToAsync(user.Email, "Reset your")).Count);
    }

    [Fact]
    public async Task One_client_is_limited_across_emails_and_other_clients_are_not()
    {
        await using var limited = TestApp.Create(azurite.ConnectionString,
            new Dictionary<string, string?> { ["Mail:ResetRequestsPerClientPerHour"] = "5" });
        var attacker = TestApp.Client("203.0.113.7");

        var answers = new List<int>();
        for (var i = 0; i < 8; i++)
        {
            answers.Add((await limited.RequestResetAsync(AccountsTestExtensions.UniqueEmail($"victim{i}"), from: attacker)).Status);
        }

        var refused = await limited.RequestResetAsync(AccountsTestExtensions.UniqueEmail("victim"), from: attacker);
        var other = await limited.RequestResetAsync(AccountsTestExtensions.UniqueEmail("other"), from: TestApp.Client("198.51.100.2"));

        Assert.Equal([202, 202, 202, 202, 202, 429, 429, 429], answers);
        Assert.Equal(429, refused.Status);
        Assert.NotNull(refused.Header("Retry-After"));
        Assert.Equal(202, other.Status);
    }

    [Fact]
    public async Task The_reset_mail_says_30_minutes_and_names_no_one()
    {
        var user = await app.NewUserAsync("words");
        await ResetTokenAsync(user.Email);

        var delivered = await mail.WaitForMailAsync(user.Email, "Reset your");

        foreach (var part in new[] { delivered.PlainText, delivered.Html })
        {
            Assert.Contains("30 minutes", part, StringComparison.Ordinal);
            Assert.Contains("My Items", part, StringComparison.Ordinal);
            Assert.Contains("If this wasn't you, ignore this mail", System.Net.WebUtility.HtmlDecode(part), StringComparison.Ordinal);
            Assert.DoesNotContain(user.Email, part, StringComparison.OrdinalIgnoreCase);
        }
    }
}
