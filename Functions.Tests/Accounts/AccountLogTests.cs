using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Accounts;

public sealed class AccountLogTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task No_password_token_hash_or_email_reaches_the_logs()
    {
        await using var app = TestApp.Create(azurite.ConnectionString);
        var email = AccountsTestExtensions.UniqueEmail("secretive");
        const string wrongPassword = "a wrong but memorable password";

        var signup = await app.SignupAsync(email);
        await app.LoginAsync(email, wrongPassword);
        var login = await app.LoginAsync(email);
        var refreshToken = login.Json.GetProperty("refreshToken").GetString()!;
        var refreshed = await app.RefreshAsync(refreshToken);
        await app.LoginAsync(email); // a second session: the first one's old token is reused below
        await app.RefreshAsync(refreshToken); // within the grace: refused, not revoked
        await app.GetAsync("/api/me", refreshed.Json.GetProperty("accessToken").GetString());
        await app.PostJsonAsync("/api/auth/logout", new { refreshToken });

        var logs = app.Logs.AllText;
        Assert.Contains("signed up", logs, StringComparison.Ordinal);
        Assert.Contains("Login failed", logs, StringComparison.Ordinal);
        string[] secrets =
        [
            AccountsTestExtensions.GoodPassword, wrongPassword, email, email.Split('@')[0], "$argon2id",
            signup.Json.GetProperty("accessToken").GetString()!, refreshToken, refreshToken.Split('.')[1],
            refreshed.Json.GetProperty("accessToken").GetString()!, app.AccountKey(email),
        ];
        foreach (var secret in secrets)
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"The logs hold '{secret}':\n{logs}");
        }
    }
}
