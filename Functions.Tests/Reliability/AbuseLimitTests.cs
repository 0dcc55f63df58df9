using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Accounts;
using Serverless.Functions.Http;
using Serverless.Functions.Limits;
using Serverless.Functions.Passwords;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Issue 13.5: every signup and every login on an unknown email cost one Argon2id hash (tens of ms, 19 MiB), with no
/// limit per client and none per instance. These tests play the attacker: one address, many requests, at once.
/// </summary>
public sealed class AbuseLimitTests(AzuriteFixture azurite)
{
    private const string Attacker = "203.0.113.66";

    private TestApp App(int signups = 1_000_000, int failedLogins = 1_000_000, int hashes = 64) => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
    {
        ["Limits:SignupsPerClientPerHour"] = signups.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Limits:FailedLoginsPerClientPerHour"] = failedLogins.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Limits:MaxHashesInFlight"] = hashes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    // As the platform's front end forwards it: whatever the client sent, then the address it saw.
    private static Dictionary<string, string> From(string address, string forged = "198.51.100.1") =>
        new() { [ClientAddresses.ForwardedFor] = $"{forged}, {address}:50123" };

    private static Task<TestResponse> SignupFrom(TestApp app, string address, string? email = null, string? forged = null) =>
        app.SendAsync("POST", "/api/auth/signup", System.Text.Json.JsonSerializer.Serialize(new { email = email ?? AccountsTestExtensions.UniqueEmail("flood"), password = AccountsTestExtensions.GoodPassword }),
            "application/json", headers: From(address, forged ?? $"198.51.100.{Random.Shared.Next(1, 255)}"));

    private static Task<TestResponse> LoginFrom(TestApp app, string address, string email, string password = "a wrong guess at it") =>
        app.SendAsync("POST", "/api/auth/login", System.Text.Json.JsonSerializer.Serialize(new { email, password }), "application/json", headers: From(address));

    private static long Hashes(TestApp app) => app.Services.GetRequiredService<PasswordHasher>().Derivations;

    [Fact]
    public async Task With_the_default_limit_the_21st_signup_from_one_address_in_an_hour_is_429_before_hashing_whatever_it_forges()
    {
        await using var app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Limits:SignupsPerClientPerHour"] = null });
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(201, (await SignupFrom(app, Attacker)).Status);
        }

        var before = Hashes(app);
        var refused = await SignupFrom(app, Attacker, forged: "192.0.2.99");
        var otherAddress = await SignupFrom(app, "203.0.113.67");

        Assert.Equal(429, refused.Status);
        Assert.EndsWith("/too-many-requests", refused.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.InRange(int.Parse(refused.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 3500, 3600);
        Assert.Equal(before + 1, Hashes(app)); // the other address's signup only
        Assert.Equal(201, otherAddress.Status);
    }

    [Fact]
    public async Task Thirty_parallel_signups_from_one_address_get_at_most_the_limit_and_hash_no_more()
    {
        await using var app = App(signups: 5);
        var before = Hashes(app);

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => SignupFrom(app, Attacker))));

        Assert.All(responses, response => Assert.True(response.Status is 201 or 429, response.ToString()));
        Assert.InRange(responses.Count(response => response.Status == 201), 1, 5);
        Assert.Equal(responses.Count(response => response.Status == 201), Hashes(app) - before);
        var row = (await app.Table(AppTables.ClientLimits).GetEntityAsync<TableEntity>(
            app.Services.GetRequiredService<AccountKeys>().ClientKeyOf(Attacker), "signup", cancellationToken: TestContext.Current.CancellationToken)).Value;
        Assert.Equal(responses.Count(response => response.Status == 201), row.GetInt32("Count"));
    }

    [Fact]
    public async Task After_the_limit_of_failed_logins_an_address_is_refused_before_hashing_even_with_a_right_password()
    {
        await using var app = App(failedLogins: 5);
        var victim = await app.NewUserAsync("victim");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(401, (await LoginFrom(app, Attacker, AccountsTestExtensions.UniqueEmail("sprayed"))).Status);
        }

        var before = Hashes(app);
        var refused = await LoginFrom(app, Attacker, victim.Email, AccountsTestExtensions.GoodPassword);
        var fromElsewhere = await LoginFrom(app, "203.0.113.67", victim.Email, AccountsTestExtensions.GoodPassword);

        Assert.Equal(429, refused.Status);
        Assert.EndsWith("/too-many-requests", refused.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.NotNull(refused.Header("Retry-After"));
        Assert.Equal(before + 1, Hashes(app)); // the other address's login only
        Assert.Equal(200, fromElsewhere.Status);
    }

    [Fact]
    public async Task Parallel_failed_logins_from_one_address_are_each_counted_and_bounded_by_the_limit_plus_the_hash_cap()
    {
        const int limit = 5, cap = 4;
        await using var app = App(failedLogins: limit, hashes: cap);

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => LoginFrom(app, Attacker, AccountsTestExtensions.UniqueEmail("spray" + i)))));
        var next = await LoginFrom(app, Attacker, AccountsTestExtensions.UniqueEmail("after"));

        Assert.All(responses, response => Assert.True(response.Status is 401 or 429 or 503, response.ToString()));
        var failed = responses.Count(response => response.Status == 401);
        Assert.InRange(failed, 1, limit + cap);
        var row = (await app.Table(AppTables.ClientLimits).GetEntityAsync<TableEntity>(
            app.Services.GetRequiredService<AccountKeys>().ClientKeyOf(Attacker), "failed-login", cancellationToken: TestContext.Current.CancellationToken)).Value;
        Assert.Equal(failed + (next.Status == 401 ? 1 : 0), row.GetInt32("Count"));
        Assert.True(failed < limit || next.Status == 429, next.ToString());
    }

    [Fact]
    public async Task With_every_hash_slot_taken_signup_and_login_answer_503_at_once_and_spend_nothing()
    {
        await using var app = App(hashes: 2);
        var user = await app.NewUserAsync("busy");
        var slots = app.Services.GetRequiredService<HashSlots>();
        using var first = slots.TryTake();
        using var second = slots.TryTake();
        var before = Hashes(app);

        var signup = await app.SignupAsync(AccountsTestExtensions.UniqueEmail("busy"));
        var login = await app.LoginAsync(user.Email);

        Assert.Null(slots.TryTake());
        foreach (var response in new[] { signup, login })
        {
            Assert.Equal(503, response.Status);
            Assert.Equal("1", response.Header("Retry-After"));
            Assert.EndsWith("/busy", response.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, Hashes(app));
        // No attempt of the account was spent on the refused login.
        Assert.False((await app.Table(AppTables.Users).GetEntityIfExistsAsync<TableEntity>(app.AccountKey(user.Email), LoginThrottleStore.RowKey,
            cancellationToken: TestContext.Current.CancellationToken)).HasValue);
        first!.Dispose();
        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task Parallel_signups_never_run_more_hashes_at_once_than_the_cap()
    {
        await using var app = App(hashes: 2);

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() => SignupFrom(app, $"192.0.2.{i + 1}"))));

        Assert.All(responses, response => Assert.True(response.Status is 201 or 503, response.ToString()));
        Assert.Contains(responses, response => response.Status == 201);
        Assert.All(responses.Where(response => response.Status == 503), response => Assert.Equal("1", response.Header("Retry-After")));
        Assert.InRange(app.Services.GetRequiredService<HashSlots>().PeakInFlight, 1, 2);
    }

    [Theory]
    [InlineData("198.51.100.1, 203.0.113.9:5555", 1, "203.0.113.9")]
    [InlineData("198.51.100.1, 203.0.113.9:5555", 2, "198.51.100.1")]
    [InlineData("203.0.113.9", 2, "203.0.113.9")]
    [InlineData("198.51.100.1, 203.0.113.9", 0, "192.0.2.1")]
    [InlineData("forged, [2001:db8:1:2:aaaa::1]:443", 1, "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:bbbb:cccc:dddd:2", 1, "2001:db8:1:2::/64")]
    [InlineData("not an address", 1, "unparsed")]
    public void The_client_address_is_the_entry_the_trusted_proxies_wrote(string forwardedFor, int trustedProxies, string expected)
    {
        var addresses = new ClientAddresses(new AbuseLimits { TrustedProxies = trustedProxies });
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.1");
        context.Request.Headers[ClientAddresses.ForwardedFor] = forwardedFor;

        Assert.Equal(expected, addresses.Of(context.Request));
    }

    [Fact]
    public void The_defaults_are_API_md_s_and_the_hash_cap_follows_the_instance_memory()
    {
        var auth = AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings(azurite.ConnectionString)).Build());
        var limits = AbuseLimits.FromConfiguration(new ConfigurationBuilder().Build(), auth);

        Assert.Equal(20, limits.SignupsPerClientPerHour);
        Assert.Equal(50, limits.FailedLoginsPerClientPerHour);
        Assert.Equal(1, limits.TrustedProxies);
        Assert.Equal(Math.Min(AbuseLimits.HashCapacity(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, auth.Argon2), Environment.ProcessorCount * 4), limits.MaxHashesInFlight);
        Assert.Equal(26, AbuseLimits.HashCapacity(2048L * 1024 * 1024, Argon2Settings.Default));
        Assert.Equal(53, AbuseLimits.HashCapacity(4096L * 1024 * 1024, Argon2Settings.Default));
        Assert.Equal(1, AbuseLimits.HashCapacity(50L * 1024 * 1024, Argon2Settings.Default));
    }
}
