// Over ~300 lines on purpose: one attacker per test (one address, many requests at once), all on this class's app,
// settings and address helpers.
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

    private TestApp App(int signups = 1_000_000, int failedLogins = 1_000_000, int hashes = 64, IDictionary<string, string?>? more = null) =>
        TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>(more ?? new Dictionary<string, string?>())
        {
            ["Limits:SignupsPerClientPerHour"] = signups.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Limits:FailedLoginsPerClientPerHour"] = failedLogins.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Limits:MaxHashesInFlight"] = hashes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    // Every header a client might hope the app reads its address from, with a value of the attacker's choosing.
    private static Dictionary<string, string> Forged(string value) => new()
    {
        ["X-Forwarded-For"] = $"{value}, 198.51.100.250",
        ["Forwarded"] = $"for={value}",
        ["X-Azure-ClientIP"] = value,
        ["X-Azure-SocketIP"] = value,
        ["X-Real-IP"] = value,
        ["CLIENT-IP"] = value,
        ["X-Original-For"] = value + ":1234",
    };

    // As the worker's middleware hands the request over: the address the host saw on the connection, and whatever headers
    // the client added (a different forged address each time unless told).
    private static Task<TestResponse> SignupFrom(TestApp app, string address, string? email = null, string? forged = null, IDictionary<string, string>? headers = null) =>
        app.SendAsync("POST", "/api/auth/signup", System.Text.Json.JsonSerializer.Serialize(new { email = email ?? AccountsTestExtensions.UniqueEmail("flood"), password = AccountsTestExtensions.GoodPassword }),
            "application/json", headers: headers ?? Forged(forged ?? $"198.51.100.{Random.Shared.Next(1, 255)}"), from: TestApp.Client(address));

    private static Task<TestResponse> LoginFrom(TestApp app, string address, string email, string password = "a wrong guess at it") =>
        app.SendAsync("POST", "/api/auth/login", System.Text.Json.JsonSerializer.Serialize(new { email, password }), "application/json",
            headers: Forged($"198.51.100.{Random.Shared.Next(1, 255)}"), from: TestApp.Client(address));

    private static int Count(TestResponse[] responses, int status) => responses.Count(response => response.Status == status);

    private static async Task<int?> SignupCountOf(TestApp app, string address) =>
        (await app.Table(AppTables.ClientLimits).GetEntityIfExistsAsync<TableEntity>(
            app.Services.GetRequiredService<AccountKeys>().ClientKeyOf(address), "signup", cancellationToken: TestContext.Current.CancellationToken)) is { HasValue: true } row
            ? row.Value!.GetInt32("Count")
            : null;

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
    public async Task Thirty_parallel_signups_from_one_address_get_at_most_the_limit_and_hash_no_more_whatever_forwarding_headers_they_forge()
    {
        await using var app = App(signups: 5);
        var before = Hashes(app);

        // Each request claims another address in every forwarding header; the connection is the attacker's each time.
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => SignupFrom(app, Attacker, forged: $"198.51.100.{i + 1}"))));

        Assert.All(responses, response => Assert.True(response.Status is 201 or 429, response.ToString()));
        Assert.InRange(Count(responses, 201), 1, 5);
        Assert.Equal(Count(responses, 201), Hashes(app) - before);
        Assert.Equal(Count(responses, 201), await SignupCountOf(app, Attacker));
        foreach (var i in Enumerable.Range(0, 30))
        {
            Assert.Null(await SignupCountOf(app, $"198.51.100.{i + 1}"));
        }
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
    public async Task Failed_logins_queued_for_one_hash_slot_see_each_failure_before_them_so_at_most_the_limit_are_checked()
    {
        // One slot and a long queue: each freed slot goes to a waiter, which must already see the failure of the request
        // that held it (counted before the slot is freed), else every handoff lets one more guess past the limit.
        const int limit = 3;
        await using var app = App(failedLogins: limit, hashes: 1, more: new Dictionary<string, string?>
        {
            ["Limits:HashQueueLength"] = "100",
            ["Limits:HashQueueWaitMilliseconds"] = "30000",
        });
        var before = Hashes(app);

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => LoginFrom(app, Attacker, AccountsTestExtensions.UniqueEmail("queued" + i)))));

        Assert.All(responses, response => Assert.True(response.Status is 401 or 429, response.ToString()));
        Assert.Equal(limit, responses.Count(response => response.Status == 401));
        Assert.Equal(limit, Hashes(app) - before);
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

    // Behind Front Door: the connection is one of its edge addresses, shared by everyone who comes through that edge.
    private const string FrontDoorEdge = "147.243.2.10";
    private const string OurFrontDoor = "55ce4ed1-4b06-4bf1-b40e-4638452104da";

    private static readonly Dictionary<string, string?> BehindFrontDoor = new()
    {
        ["Limits:ClientAddress"] = "front-door",
        ["Limits:FrontDoorId"] = OurFrontDoor,
    };

    private static Dictionary<string, string> ThroughFrontDoor(string socketIp, string fdid = OurFrontDoor) =>
        new() { ["X-Azure-FDID"] = fdid, ["X-Azure-SocketIP"] = socketIp };

    [Fact]
    public async Task Behind_front_door_two_clients_behind_one_edge_address_are_counted_apart()
    {
        await using var app = App(signups: 2, more: BehindFrontDoor);

        var first = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => SignupFrom(app, FrontDoorEdge, headers: ThroughFrontDoor("203.0.113.20")))));
        var second = await SignupFrom(app, FrontDoorEdge, headers: ThroughFrontDoor("203.0.113.21"));

        Assert.Equal(2, Count(first, 201));
        Assert.Equal(8, Count(first, 429));
        Assert.Equal(201, second.Status);
        Assert.Equal(2, await SignupCountOf(app, "203.0.113.20"));
        Assert.Equal(1, await SignupCountOf(app, "203.0.113.21"));
        Assert.Null(await SignupCountOf(app, FrontDoorEdge));
    }

    [Fact]
    public async Task Behind_front_door_a_client_cannot_pick_its_bucket_with_x_azure_clientip()
    {
        await using var app = App(signups: 3, more: BehindFrontDoor);

        // Front Door's X-Azure-ClientIP follows what the client sends; its socket address is the one it cannot change.
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => SignupFrom(app, FrontDoorEdge,
            headers: new Dictionary<string, string>(ThroughFrontDoor("203.0.113.30")) { ["X-Azure-ClientIP"] = $"198.51.100.{i + 1}", ["X-Forwarded-For"] = $"198.51.100.{i + 1}" }))));

        Assert.InRange(Count(responses, 201), 1, 3);
        Assert.Equal(Count(responses, 201), await SignupCountOf(app, "203.0.113.30"));
    }

    // Requests that do not prove they came through our profile, or whose client header is not one plain address.
    public static TheoryData<string, Dictionary<string, string>> Unproven => new()
    {
        { "no X-Azure-FDID", new() { ["X-Azure-SocketIP"] = "203.0.113.40" } },
        { "another profile's X-Azure-FDID", ThroughFrontDoor("203.0.113.40", "0f0e0d0c-0b0a-4909-8807-060504030201") },
        { "an X-Azure-FDID that is not a GUID", ThroughFrontDoor("203.0.113.40", "not-a-front-door-id") },
        { "ours and another profile's X-Azure-FDID in one header", ThroughFrontDoor("203.0.113.40", OurFrontDoor + ", 0f0e0d0c-0b0a-4909-8807-060504030201") },
        { "no X-Azure-SocketIP", new() { ["X-Azure-FDID"] = OurFrontDoor, ["X-Azure-ClientIP"] = "203.0.113.40" } },
        { "two addresses in X-Azure-SocketIP", ThroughFrontDoor("203.0.113.40, 203.0.113.41") },
        { "an X-Azure-SocketIP with a port", ThroughFrontDoor("203.0.113.40:443") },
        { "an X-Azure-SocketIP in brackets", ThroughFrontDoor("[2001:db8::40]") },
        { "an X-Azure-SocketIP in shorthand", ThroughFrontDoor("3405803816") },
        { "an X-Azure-SocketIP that is not an address", ThroughFrontDoor("somewhere") },
        { "an empty X-Azure-SocketIP", ThroughFrontDoor("") },
    };

    [Theory]
    [MemberData(nameof(Unproven))]
    public async Task Behind_front_door_a_request_without_our_profiles_id_or_one_plain_client_address_counts_under_its_connection(
        string _, Dictionary<string, string> headers)
    {
        await using var app = App(signups: 3, more: BehindFrontDoor);

        // A different claimed client each time: were any believed, every signup would land in a bucket of its own.
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => SignupFrom(app, FrontDoorEdge,
            headers: headers.ToDictionary(h => h.Key, h => h.Value.Replace("203.0.113.40", $"203.0.113.{100 + i}", StringComparison.Ordinal))))));

        Assert.InRange(Count(responses, 201), 1, 3);
        Assert.Equal(Count(responses, 201), await SignupCountOf(app, FrontDoorEdge));
    }

    [Fact]
    public void Behind_front_door_duplicated_fdid_or_client_headers_are_not_believed()
    {
        var addresses = new ClientAddresses(AbuseLimits.FromConfiguration(Settings(BehindFrontDoor), Auth()));
        var twoIds = Request(FrontDoorEdge, ThroughFrontDoor("203.0.113.50"));
        twoIds.Headers["X-Azure-FDID"] = new Microsoft.Extensions.Primitives.StringValues([OurFrontDoor, OurFrontDoor]);
        var twoAddresses = Request(FrontDoorEdge, ThroughFrontDoor("203.0.113.50"));
        twoAddresses.Headers["X-Azure-SocketIP"] = new Microsoft.Extensions.Primitives.StringValues(["203.0.113.50", "203.0.113.51"]);

        Assert.Equal("203.0.113.50", addresses.Of(Request(FrontDoorEdge, ThroughFrontDoor("203.0.113.50"))));
        Assert.Equal(FrontDoorEdge, addresses.Of(twoIds));
        Assert.Equal(FrontDoorEdge, addresses.Of(twoAddresses));
    }

    [Theory]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("55CE4ED1-4B06-4BF1-B40E-4638452104DA", "203.0.113.9")]
    [InlineData("2001:db8:1:2:bbbb:cccc:dddd:2", "2001:db8:1:2::/64")]
    [InlineData("::ffff:203.0.113.9", "203.0.113.9")]
    public void Behind_front_door_the_client_address_is_x_azure_socketip_normalised(string socketIpOrFdid, string expected)
    {
        var addresses = new ClientAddresses(AbuseLimits.FromConfiguration(Settings(BehindFrontDoor), Auth()));
        var headers = socketIpOrFdid.Contains('-', StringComparison.Ordinal)
            ? ThroughFrontDoor("203.0.113.9", socketIpOrFdid)
            : ThroughFrontDoor(socketIpOrFdid);

        Assert.Equal(expected, addresses.Of(Request(FrontDoorEdge, headers)));
    }

    [Theory]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("::ffff:203.0.113.9", "203.0.113.9")]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64")]
    [InlineData(null, "unknown")]
    public void By_default_the_client_address_is_the_connections_normalised_and_no_header_changes_it(string? connection, string expected)
    {
        var addresses = new ClientAddresses(AbuseLimits.FromConfiguration(Settings(new Dictionary<string, string?>()), Auth()));
        var forged = new Dictionary<string, string>(Forged("198.51.100.9")) { ["X-Azure-FDID"] = OurFrontDoor };

        Assert.Equal(expected, addresses.Of(Request(connection, forged)));
        Assert.Equal(expected, addresses.Of(Request(connection, new Dictionary<string, string>())));
    }

    [Theory]
    [InlineData("Limits:ClientAddress", "proxy", null, "Limits__ClientAddress")]
    [InlineData("Limits:ClientAddress", "Front-Door", null, "Limits__ClientAddress")]
    [InlineData("Limits:ClientAddress", "front-door", null, "Limits__FrontDoorId")]
    [InlineData("Limits:ClientAddress", "front-door", "", "Limits__FrontDoorId")]
    [InlineData("Limits:ClientAddress", "front-door", "my-front-door", "Limits__FrontDoorId")]
    [InlineData("Limits:ClientAddress", "front-door", "00000000-0000-0000-0000-000000000000", "Limits__FrontDoorId")]
    [InlineData("Limits:ClientAddress", "connection", OurFrontDoor, "Limits__FrontDoorId")]
    public void A_bad_client_address_setting_stops_start_up_naming_it(string name, string value, string? frontDoorId, string named)
    {
        var error = Assert.Throws<InvalidOperationException>(() => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
        {
            [name] = value,
            ["Limits:FrontDoorId"] = frontDoorId,
        }));

        Assert.Contains($"'{named}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_front_door_id_never_shows_in_the_settings_printout()
    {
        var limits = AbuseLimits.FromConfiguration(Settings(BehindFrontDoor), Auth());

        Assert.Equal(ClientAddressSource.FrontDoor, limits.ClientAddress);
        Assert.DoesNotContain("55ce4ed1", limits.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    private static IConfiguration Settings(IDictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private AuthOptions Auth() =>
        AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings(azurite.ConnectionString)).Build());

    private static HttpRequest Request(string? connection, IDictionary<string, string> headers)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = connection is null ? null : System.Net.IPAddress.Parse(connection);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }

    [Fact]
    public void The_defaults_are_API_md_s_and_the_hash_cap_follows_the_instance_memory()
    {
        var auth = AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings(azurite.ConnectionString)).Build());
        var limits = AbuseLimits.FromConfiguration(new ConfigurationBuilder().Build(), auth);

        Assert.Equal(20, limits.SignupsPerClientPerHour);
        Assert.Equal(50, limits.FailedLoginsPerClientPerHour);
        Assert.Equal(ClientAddressSource.Connection, limits.ClientAddress);
        Assert.Null(limits.FrontDoorId);
        Assert.Equal(Math.Min(AbuseLimits.HashCapacity(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, auth.Argon2), Environment.ProcessorCount * 4), limits.MaxHashesInFlight);
        Assert.Equal(26, AbuseLimits.HashCapacity(2048L * 1024 * 1024, Argon2Settings.Default));
        Assert.Equal(53, AbuseLimits.HashCapacity(4096L * 1024 * 1024, Argon2Settings.Default));
        Assert.Equal(1, AbuseLimits.HashCapacity(50L * 1024 * 1024, Argon2Settings.Default));
    }
}
