using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serverless.Functions.Accounts;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Tests.Tokens;

public sealed class AccessTokenTests(AzuriteFixture azurite) : IAsyncLifetime
{
    // Every forged token names the app's real key: a kid is public, copied from any token.
    private static readonly string TestKeyId = SigningKeys.IdOf(Encoding.UTF8.GetBytes(TestApp.TestSigningKey));
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;
    private SignedInUser user = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        user = await app.NewUserAsync();
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private string Forge(
        string? key = TestApp.TestSigningKey, string issuer = "serverless-tests", string audience = "serverless-tests",
        TimeSpan? notBeforeOffset = null, TimeSpan? expiresOffset = null, string algorithm = SecurityAlgorithms.HmacSha256, string? subject = null)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject ?? user.Id,
            ["acct"] = app.AccountKey(user.Email),
        };
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now + (notBeforeOffset ?? TimeSpan.Zero),
            Expires = now + (expiresOffset ?? TimeSpan.FromMinutes(15)),
        };
        if (key is not null)
        {
            descriptor.SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) { KeyId = TestKeyId }, algorithm);
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    private Task<TestResponse> MeAsync(string? token) => app.GetAsync("/api/me", token);

    [Fact]
    public async Task The_issued_token_is_hs256_with_kid_sub_issuer_audience_and_15_minutes()
    {
        var token = new JsonWebToken(user.AccessToken);

        Assert.Equal("HS256", token.Alg);
        Assert.Equal(TestKeyId, token.Kid);
        Assert.Equal(user.Id, token.Subject);
        Assert.Equal("serverless-tests", token.Issuer);
        Assert.Equal(["serverless-tests"], token.Audiences);
        Assert.Equal(TimeSpan.FromMinutes(15), token.ValidTo - token.ValidFrom);
    }

    [Fact]
    public async Task Me_returns_the_profile_for_a_valid_token()
    {
        var response = await MeAsync(user.AccessToken);

        Assert.Equal(200, response.Status);
        Assert.Equal(user.Id, response.Json.GetProperty("id").GetString());
        Assert.Equal(user.Email, response.Json.GetProperty("email").GetString());
        Assert.True(response.Json.TryGetProperty("createdAt", out _));
    }

    [Fact]
    public async Task Me_without_a_token_is_401_with_a_bearer_challenge()
    {
        var response = await MeAsync(null);

        Assert.Equal(401, response.Status);
        Assert.Equal("Bearer", response.Header("WWW-Authenticate"));
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_19_seconds_expired_is_accepted_within_the_clock_skew()
    {
        var token = user.AccessToken;
        clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(19));

        Assert.Equal(200, (await MeAsync(token)).Status);
    }

    [Fact]
    public async Task A_token_accepted_before_is_refused_once_it_expires()
    {
        var token = user.AccessToken;
        Assert.Equal(200, (await MeAsync(token)).Status);
        clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(19));
        Assert.Equal(200, (await MeAsync(token)).Status);

        clock.Advance(TimeSpan.FromSeconds(12));

        Assert.Equal(401, (await MeAsync(token)).Status);
    }

    [Fact]
    public async Task An_expired_token_is_401()
    {
        var token = user.AccessToken;
        clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(31));

        var response = await MeAsync(token);

        Assert.Equal(401, response.Status);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Header("WWW-Authenticate"));
    }

    public static TheoryData<string> RejectedTokenKinds =>
    [
        "not-yet-valid", "wrong-issuer", "wrong-audience", "bad-signature", "alg-none", "hs512", "truncated", "garbage", "empty-bearer",
        "basic-scheme", "unknown-user",
    ];

    [Theory]
    [MemberData(nameof(RejectedTokenKinds))]
    public async Task Rejected_tokens_get_401_with_invalid_token(string kind)
    {
        var authorization = kind switch
        {
            "not-yet-valid" => "Bearer " + Forge(notBeforeOffset: TimeSpan.FromMinutes(1)),
            "wrong-issuer" => "Bearer " + Forge(issuer: "someone-else"),
            "wrong-audience" => "Bearer " + Forge(audience: "someone-else"),
            "bad-signature" => "Bearer " + Forge(key: "another-key-that-is-long-enough-0123456789abcdef"),
            "alg-none" => "Bearer " + Forge(key: null),
            "hs512" => "Bearer " + Forge(algorithm: SecurityAlgorithms.HmacSha512),
            "truncated" => "Bearer " + user.AccessToken[..^10],
            "garbage" => "Bearer this.is.garbage",
            "empty-bearer" => "Bearer ",
            "basic-scheme" => "Basic dXNlcjpwYXNz",
            "unknown-user" => "Bearer " + Forge(subject: Guid.NewGuid().ToString("N")),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var response = await app.SendAsync("GET", "/api/me", headers: new Dictionary<string, string> { ["Authorization"] = authorization });

        Assert.Equal(401, response.Status);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Header("WWW-Authenticate"));
    }

    [Fact]
    public void Start_up_fails_without_a_signing_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:SigningKey"] = "" }));

        Assert.Contains("Auth__SigningKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_fails_with_a_signing_key_under_256_bits()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:SigningKey"] = new string('k', 31) }));

        Assert.Contains("Auth__SigningKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_fails_with_an_unresolved_key_vault_reference()
    {
        var reference = "@Microsoft.KeyVault(SecretUri=https://kv-example.vault.azure.net/secrets/auth-signing-key/)";

        var error = Assert.Throws<InvalidOperationException>(() =>
            TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:SigningKey"] = reference }));

        Assert.Contains("Key Vault", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("129")]
    [InlineData("ten")]
    public void Start_up_fails_with_a_minimum_password_length_out_of_range(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:MinPasswordLength"] = value }));

        Assert.Contains("Auth__MinPasswordLength", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minimum_password_length_can_be_lowered_to_8()
    {
        await using var lenient = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:MinPasswordLength"] = "8" });

        Assert.Equal(201, (await lenient.SignupAsync(AccountsTestExtensions.UniqueEmail(), "zq8!vw3k")).Status);
        Assert.Equal(400, (await lenient.SignupAsync(AccountsTestExtensions.UniqueEmail(), "zq8!vw3")).Status);
    }

    [Fact]
    public async Task Lifetimes_come_from_configuration()
    {
        await using var custom = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AccessTokenLifetimeSeconds"] = "300",
            ["Auth:RefreshTokenLifetimeSeconds"] = "3600",
        });

        var session = (await custom.SignupAsync(AccountsTestExtensions.UniqueEmail())).Json;

        Assert.Equal(300, session.GetProperty("expiresIn").GetInt32());
        Assert.Equal(3600, session.GetProperty("refreshExpiresIn").GetInt32());
    }

    [Fact]
    public async Task The_session_lifetime_comes_from_configuration_and_caps_the_refresh_lifetime()
    {
        await using var custom = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Auth:SessionLifetimeSeconds"] = "1800" });

        var session = (await custom.SignupAsync(AccountsTestExtensions.UniqueEmail())).Json;

        Assert.Equal(1800, session.GetProperty("refreshExpiresIn").GetInt32());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("299")]
    [InlineData("-5")]
    [InlineData("90d")]
    public void An_invalid_session_lifetime_stops_start_up_naming_the_setting(string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(TestApp.DefaultSettings("UseDevelopmentStorage=true"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Auth:SessionLifetimeSeconds"] = value })
            .Build();

        var error = Assert.Throws<InvalidOperationException>(() => AuthOptions.FromConfiguration(configuration));

        Assert.Contains("Auth__SessionLifetimeSeconds", error.Message, StringComparison.Ordinal);
    }
}
