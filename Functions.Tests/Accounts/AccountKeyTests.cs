using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Accounts;

/// <summary>
/// Issue 13.9: the account key was the unsalted SHA-256 of the email, in table keys, in every access token (<c>acct</c>)
/// and (8 characters) in logs, so anyone with a list of emails could tell who has an account. It is a keyed hash now.
/// </summary>
public sealed class AccountKeyTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    // What an attacker with a list of emails computes: the old, unkeyed key.
    private static string Sha256Key(string email) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(email.ToLower(CultureInfo.InvariantCulture))))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [Fact]
    public async Task An_attacker_with_the_email_finds_no_row_token_claim_or_log_hint_under_its_sha256()
    {
        var email = AccountsTestExtensions.UniqueEmail("listed");
        var signup = await app.SignupAsync(email);
        await app.LoginAsync(email, "not the password at all");
        var guessed = Sha256Key(email);
        var key = app.AccountKey(email);

        Assert.Equal(201, signup.Status);
        Assert.NotEqual(guessed, key);
        Assert.Equal(43, key.Length);
        var users = app.Table(AppTables.Users);
        Assert.False((await users.GetEntityIfExistsAsync<TableEntity>(guessed, guessed, cancellationToken: TestContext.Current.CancellationToken)).HasValue);
        Assert.True((await users.GetEntityIfExistsAsync<TableEntity>(key, key, cancellationToken: TestContext.Current.CancellationToken)).HasValue);
        Assert.Equal(key, Claims(signup.Json.GetProperty("accessToken").GetString()!).GetProperty("acct").GetString());
        Assert.Contains(app.Logs.Entries, entry => entry.Message.Contains(AccountKeys.Hint(key), StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Entries, entry => entry.Message.Contains(guessed[..8], StringComparison.Ordinal));
    }

    [Fact]
    public void The_key_changes_with_the_secret_and_is_stable_under_one_secret()
    {
        static AccountKeys Keys(string secret) => new(new AuthOptions { SigningKey = new byte[32], IdentifierHashKey = Encoding.UTF8.GetBytes(secret) });
        var one = Keys("first-secret-of-at-least-32-bytes-0123456789");
        var two = Keys("other-secret-of-at-least-32-bytes-0123456789");

        Assert.Equal(one.KeyOf("Ada@Example.com"), Keys("first-secret-of-at-least-32-bytes-0123456789").KeyOf(" ada@example.COM "));
        Assert.NotEqual(one.KeyOf("ada@example.com"), two.KeyOf("ada@example.com"));
        Assert.NotEqual(Sha256Key("ada@example.com"), one.KeyOf("ada@example.com"));
        Assert.NotEqual(one.KeyOf("203.0.113.7"), one.ClientKeyOf("203.0.113.7"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("only-31-bytes-0123456789abcdefg")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://vault.vault.azure.net/secrets/auth-identifier-hash-key)")]
    public void A_missing_short_or_unresolved_identifier_hash_key_stops_start_up_naming_the_setting(string? secret)
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:IdentifierHashKey"] = secret }));

        Assert.Contains("Auth__IdentifierHashKey", error.Message, StringComparison.Ordinal);
    }

    private static JsonElement Claims(string jwt)
    {
        var payload = jwt.Split('.')[1];
        var padded = payload.Replace('-', '+').Replace('_', '/').PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        return JsonDocument.Parse(Convert.FromBase64String(padded)).RootElement.Clone();
    }
}
