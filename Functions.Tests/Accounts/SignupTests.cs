using System.Text;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Accounts;

public sealed class SignupTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Signup_returns_201_with_a_session_and_location()
    {
        var email = AccountsTestExtensions.UniqueEmail("ada");

        var response = await app.SignupAsync(email, displayName: "  Ada  ");

        Assert.Equal(201, response.Status);
        Assert.Equal("/api/me", response.Header("Location"));
        var session = response.Json;
        var user = session.GetProperty("user");
        Assert.Equal(email, user.GetProperty("email").GetString());
        Assert.Equal("Ada", user.GetProperty("displayName").GetString());
        Assert.False(string.IsNullOrEmpty(user.GetProperty("id").GetString()));
        Assert.EndsWith("Z", user.GetProperty("createdAt").GetString(), StringComparison.Ordinal);
        Assert.Equal("Bearer", session.GetProperty("tokenType").GetString());
        Assert.Equal(900, session.GetProperty("expiresIn").GetInt32());
        Assert.Equal(1209600, session.GetProperty("refreshExpiresIn").GetInt32());
        Assert.Equal(3, session.GetProperty("accessToken").GetString()!.Split('.').Length);
        Assert.False(string.IsNullOrEmpty(session.GetProperty("refreshToken").GetString()));
    }

    [Fact]
    public async Task Signup_without_display_name_stores_none()
    {
        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail());

        Assert.Equal(201, response.Status);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, response.Json.GetProperty("user").GetProperty("displayName").ValueKind);
    }

    [Fact]
    public async Task Signup_trims_and_normalizes_the_email_to_NFC()
    {
        var id = Guid.NewGuid().ToString("N");
        var decomposed = $"  rene\u0301.{id}@example.com ";

        var response = await app.SignupAsync(decomposed);

        Assert.Equal(201, response.Status);
        Assert.Equal($"ren\u00e9.{id}@example.com", response.Json.GetProperty("user").GetProperty("email").GetString());
        Assert.Equal(200, (await app.LoginAsync($"REN\u00c9.{id}@EXAMPLE.COM")).Status);
    }

    [Fact]
    public async Task Signup_with_taken_email_in_any_case_returns_409()
    {
        var email = AccountsTestExtensions.UniqueEmail("taken");
        Assert.Equal(201, (await app.SignupAsync(email)).Status);

        var again = await app.SignupAsync(email.ToUpperInvariant(), "another good long passphrase");

        Assert.Equal(409, again.Status);
        Assert.StartsWith("application/problem+json", again.ContentType, StringComparison.Ordinal);
        Assert.Equal(409, again.Json.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Fifty_concurrent_signups_with_one_email_give_exactly_one_201()
    {
        var email = AccountsTestExtensions.UniqueEmail("race");

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => app.SignupAsync(i % 2 == 0 ? email : email.ToUpperInvariant()))));

        // A loser is 409, or 503 "busy" when the instance's hash cap (Limits:MaxHashesInFlight) refused it before hashing.
        Assert.True(responses.Count(r => r.Status == 201) == 1 && responses.Count(r => r.Status == 409 || IsBusy(r)) == 49,
            string.Join(", ", responses.GroupBy(r => r.Status).Select(g => $"{g.Count()}x{g.Key}")) + " " + responses.FirstOrDefault(r => r.Status is not (201 or 409)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("no-at-sign.example.com")]
    [InlineData("two@@example.com")]
    [InlineData("space in@example.com")]
    [InlineData("nodot@localhost")]
    [InlineData("Ada <ada@example.com>")]
    [InlineData("tab\t@example.com")]
    [InlineData("@example.com")]
    [InlineData("ada@")]
    public async Task Signup_with_an_invalid_email_returns_400_naming_email(string email)
    {
        var response = await app.SignupAsync(email);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("email", out _), response.Body);
    }

    [Fact]
    public async Task Signup_with_a_255_character_email_returns_400()
    {
        var email = new string('a', 255 - "@example.com".Length) + "@example.com";
        Assert.Equal(255, email.Length);

        var response = await app.SignupAsync(email);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("email", out _));
    }

    [Fact]
    public async Task Signup_accepts_a_254_character_email_and_unicode()
    {
        var local = "\u00fc" + Guid.NewGuid().ToString("N");
        var email = local + "@" + new string('d', 254 - local.Length - 1 - ".com".Length) + ".com";
        Assert.Equal(254, email.Length);

        Assert.Equal(201, (await app.SignupAsync(email)).Status);
    }

    [Theory]
    [InlineData(14, 400)]
    [InlineData(15, 201)]
    [InlineData(128, 201)]
    [InlineData(129, 400)]
    public async Task Password_length_is_15_to_128_characters(int length, int expected)
    {
        var password = string.Concat(Enumerable.Range(0, 8).Select(_ => Guid.NewGuid().ToString("N")))[..length];

        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), password);

        Assert.Equal(expected, response.Status);
        if (expected == 400)
        {
            Assert.True(response.Json.GetProperty("errors").TryGetProperty("password", out _));
        }
    }

    [Fact]
    public async Task Password_length_counts_characters_not_utf16_units()
    {
        var fifteenEmoji = string.Concat(Enumerable.Range(0, 15).Select(i => char.ConvertFromUtf32(0x1F600 + i)));

        Assert.Equal(201, (await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), fifteenEmoji)).Status);
        Assert.Equal(400, (await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), fifteenEmoji[..28])).Status);
    }

    [Theory]
    [InlineData("1q2w3e4r5t6y7u8i9o")]
    [InlineData("12345678987654321")]
    [InlineData("  DEMON1Q2W3E4R5T ")]
    public async Task Common_passwords_are_refused(string password)
    {
        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), password);

        Assert.Equal(400, response.Status);
        Assert.Contains("common", response.Json.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_common_password_list_has_at_least_10000_entries()
    {
        Assert.True(Functions.Passwords.PasswordPolicy.CommonPasswordCount >= 10_000);
    }

    [Fact]
    public async Task A_password_containing_the_email_name_is_refused()
    {
        var id = Guid.NewGuid().ToString("N")[..10];

        var response = await app.SignupAsync($"grace{id}@example.com", $"my name is GRACE{id.ToUpperInvariant()} ok");

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("password", out _));
    }

    [Fact]
    public async Task Every_invalid_field_is_reported_at_once()
    {
        var response = await app.PostJsonAsync("/api/auth/signup", new { email = "nope", password = "short", displayName = "" });

        Assert.Equal(400, response.Status);
        var errors = response.Json.GetProperty("errors");
        Assert.True(errors.TryGetProperty("email", out _));
        Assert.True(errors.TryGetProperty("password", out _));
        Assert.True(errors.TryGetProperty("displayName", out _));
    }

    [Fact]
    public async Task Display_name_of_65_characters_is_refused()
    {
        var response = await app.SignupAsync(AccountsTestExtensions.UniqueEmail(), displayName: new string('n', 65));

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("displayName", out _));
    }

    [Fact]
    public async Task Password_is_stored_as_an_argon2id_hash_of_at_least_owasp_cost()
    {
        var email = AccountsTestExtensions.UniqueEmail();
        var signup = await app.SignupAsync(email);
        var accountKey = app.AccountKey(email);

        var row = (await app.Table(AppTables.Users).GetEntityAsync<Azure.Data.Tables.TableEntity>(accountKey, accountKey,
            cancellationToken: TestContext.Current.CancellationToken)).Value;

        var hash = row.GetString("PasswordHash");
        Assert.Matches(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$", hash);
        Assert.DoesNotContain(AccountsTestExtensions.GoodPassword, ((IDictionary<string, object>)row).Values.OfType<string>());
        Assert.Equal(201, signup.Status);
    }

    [Fact]
    public async Task Users_rows_are_keyed_without_the_raw_email()
    {
        var email = $"we/ird#?{Guid.NewGuid():N}@example.com";

        Assert.Equal(400, (await app.SignupAsync($"back\\slash{Guid.NewGuid():N}@example.com")).Status);
        Assert.Equal(201, (await app.SignupAsync(email)).Status);
        Assert.Equal(200, (await app.LoginAsync(email)).Status);

        var keys = app.Table(AppTables.Users).QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey"], cancellationToken: TestContext.Current.CancellationToken);
        await foreach (var row in keys)
        {
            Assert.DoesNotContain("@", row.PartitionKey, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Signup_body_that_is_not_json_is_415()
    {
        var response = await app.SendAsync("POST", "/api/auth/signup", "email=a", "application/x-www-form-urlencoded");

        Assert.Equal(415, response.Status);
        Assert.Equal(0, Encoding.UTF8.GetByteCount(response.Header("Location") ?? ""));
    }

    private static bool IsBusy(TestResponse response) =>
        response.Status == 503 && response.Json.GetProperty("type").GetString()!.EndsWith("/busy", StringComparison.Ordinal);
}
