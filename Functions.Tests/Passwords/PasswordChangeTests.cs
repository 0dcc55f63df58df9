using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Passwords;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Passwords;

public sealed class PasswordChangeTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string NewPassword = "a brand new passphrase for this account";
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private Task<TestResponse> ChangeAsync(string accessToken, string? currentPassword, string? newPassword) =>
        app.SendAsync("PUT", "/api/me/password", JsonSerializer.Serialize(new { currentPassword, newPassword }), "application/json", accessToken);

    [Fact]
    public async Task A_change_answers_a_new_session_and_ends_every_other_one()
    {
        var user = await app.NewUserAsync("changer");
        var elsewhere = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);

        var changed = await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, NewPassword);

        Assert.True(changed.Status == 200, changed.ToString());
        Assert.Equal("no-store", changed.Header("Cache-Control"));
        var session = SignedInUser.From(user.Email, changed.Json);
        Assert.Equal(user.Id, session.Id);
        Assert.Equal(401, (await app.RefreshAsync(elsewhere.RefreshToken)).Status);
        Assert.Equal(401, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(session.RefreshToken)).Status);
        Assert.Equal(401, (await app.LoginAsync(user.Email)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email, NewPassword)).Status);
    }

    [Fact]
    public async Task A_wrong_current_password_is_400_on_current_password_and_changes_nothing()
    {
        var user = await app.NewUserAsync("wrong");

        var response = await ChangeAsync(user.AccessToken, "not my password at all", NewPassword);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("currentPassword", out _), response.ToString());
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task Wrong_current_passwords_count_as_failed_logins_and_then_429_even_with_the_right_one()
    {
        var user = await app.NewUserAsync("guesser");
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            Assert.Equal(400, (await ChangeAsync(user.AccessToken, $"guess number {i} of the password", NewPassword)).Status);
        }

        var right = await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, NewPassword);
        var login = await app.LoginAsync(user.Email);

        Assert.Equal(429, right.Status);
        Assert.NotNull(right.Header("Retry-After"));
        Assert.Equal(429, login.Status);
        clock.Advance(LoginThrottle.Window);
        Assert.Equal(200, (await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, NewPassword)).Status);
    }

    [Fact]
    public async Task Parallel_guesses_of_the_current_password_are_throttled_like_logins()
    {
        var user = await app.NewUserAsync("parallel");

        var hasher = app.Services.GetRequiredService<PasswordHasher>();
        var before = hasher.Derivations;

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
            ChangeAsync(user.AccessToken, $"parallel guess number {i}", NewPassword))));

        // 400 for a checked wrong guess, 429 when the attempt could not be reserved, 503 when this instance's hash cap refused it first.
        Assert.All(responses, response => Assert.True(response.Status is 400 or 429 or 503, response.ToString()));
        Assert.InRange(responses.Count(response => response.Status == 400), 1, LoginThrottle.MaxAttempts);
        for (var guess = 0; guess < 20 && (await ChangeAsync(user.AccessToken, $"sequential guess {guess}", NewPassword)).Status != 429; guess++)
        {
        }

        Assert.Equal(429, (await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, NewPassword)).Status);
        Assert.Equal(LoginThrottle.MaxAttempts, hasher.Derivations - before);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("")]
    [InlineData(null)]
    public async Task A_new_password_against_the_signup_rules_is_400_on_new_password(string? newPassword)
    {
        var user = await app.NewUserAsync("weak");

        var response = await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, newPassword);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("newPassword", out _), response.ToString());
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);
    }

    [Fact]
    public async Task A_new_password_with_the_emails_name_is_refused()
    {
        var user = await app.NewUserAsync("verylongname");

        var response = await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, user.Email.Split('@')[0] + " is my password");

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("newPassword", out _), response.ToString());
    }

    [Fact]
    public async Task A_missing_current_password_is_400_without_counting_a_failure()
    {
        var user = await app.NewUserAsync("missing");
        for (var i = 0; i < LoginThrottle.MaxAttempts + 1; i++)
        {
            var response = await ChangeAsync(user.AccessToken, null, NewPassword);
            Assert.Equal(400, response.Status);
            Assert.True(response.Json.GetProperty("errors").TryGetProperty("currentPassword", out _), response.ToString());
        }

        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task A_change_ends_more_sessions_than_one_transaction_holds()
    {
        var user = await app.NewUserAsync("many");
        var store = (Functions.Sessions.SessionStore)app.Services.GetService(typeof(Functions.Sessions.SessionStore))!;
        var sessions = (Functions.Sessions.SessionService)app.Services.GetService(typeof(Functions.Sessions.SessionService))!;
        var accountKey = Functions.Sessions.RefreshToken.TryParse(user.RefreshToken)!.AccountKey;
        for (var i = 0; i < 120; i++)
        {
            await store.AddAsync(sessions.Open(new UserView(user.Id, user.Email, null, DateTime.UtcNow, EmailVerified: false), accountKey, null).Row, TestContext.Current.CancellationToken);
        }

        var changed = await ChangeAsync(user.AccessToken, AccountsTestExtensions.GoodPassword, NewPassword);

        Assert.Equal(200, changed.Status);
        var left = await store.ListAsync(accountKey, TestContext.Current.CancellationToken);
        Assert.Equal(changed.Json.GetProperty("refreshToken").GetString()!.Split('.')[1] is { } key
            ? Functions.Sessions.RefreshToken.SessionIdOf(key) : "", Assert.Single(left).SessionId);
    }
}
