using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Limits;

/// <summary>
/// "Limits that hold in production", point 1: a burst waits a moment for a hash slot (a short queue, oldest first) instead of
/// being answered 503 the moment the cap is taken; the cap on hashes in flight, and with it the memory bound, is unchanged.
/// </summary>
public sealed class HashQueueTests(AzuriteFixture azurite)
{
    private TestApp App(int hashes) => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
    {
        ["Limits:SignupsPerClientPerHour"] = "1000000",
        ["Limits:FailedLoginsPerClientPerHour"] = "1000000",
        ["Limits:MaxHashesInFlight"] = hashes.ToString(CultureInfo.InvariantCulture),
        // Generous, as the test machine's 2 cores are shared: the wait bound itself is the gate test's.
        ["Limits:HashQueueWaitMilliseconds"] = "10000",
    });

    private static Task<T[]> AtOnceAsync<T>(int count, Func<int, Task<T>> request) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => request(i))));

    private static Task<TestResponse> SignupFrom(TestApp app, int client, string email) =>
        app.SendAsync("POST", "/api/auth/signup", JsonSerializer.Serialize(new { email, password = AccountsTestExtensions.GoodPassword }), "application/json",
            from: TestApp.Client($"10.{client / 250 % 250}.{client % 250}.1"));

    private static bool IsBusy(TestResponse response) =>
        response.Status == 503 && response.Json.GetProperty("type").GetString()!.EndsWith("/busy", StringComparison.Ordinal)
        && response.Header("Retry-After") == "1";

    [Fact]
    public async Task The_gate_holds_at_most_its_cap_refuses_past_the_queue_at_once_and_a_waiter_past_the_wait()
    {
        using var slots = new HashSlots(new AbuseLimits { MaxHashesInFlight = 2, HashQueueLength = 2, HashQueueWait = TimeSpan.FromMilliseconds(500) });
        var token = TestContext.Current.CancellationToken;
        var first = await slots.TakeAsync(token);
        var second = await slots.TakeAsync(token);
        var third = slots.TakeAsync(token);
        var fourth = slots.TakeAsync(token);

        // "At once" as a completed task, not a stopwatch: a busy CI machine can stall any thread for 250 ms.
        var refused = slots.TakeAsync(token);
        Assert.True(refused.IsCompleted, "the queue was full: refused at once");
        var fifth = await refused;
        Assert.Null(fifth);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.False(third.IsCompleted);
        Assert.False(fourth.IsCompleted);

        first!.Dispose();
        using var thirdSlot = await third; // the oldest waiter gets the freed slot
        Assert.NotNull(thirdSlot);
        Assert.Null(await fourth); // nobody let go within the wait
        Assert.Equal(2, slots.PeakInFlight);
        second!.Dispose();
    }

    [Theory]
    [InlineData("HashQueueLength", "-1")]
    [InlineData("HashQueueLength", "lots")]
    [InlineData("HashQueueWaitMilliseconds", "0")]
    [InlineData("HashQueueWaitMilliseconds", "60001")]
    public void A_bad_queue_setting_stops_start_up_naming_it(string name, string value)
    {
        var auth = AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings(azurite.ConnectionString)).Build());
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Limits:" + name] = value }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => AbuseLimits.FromConfiguration(settings, auth));

        Assert.Contains("Limits__" + name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_queue_defaults_to_four_times_the_cap_and_a_two_second_wait()
    {
        var auth = AuthOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(TestApp.DefaultSettings(azurite.ConnectionString)).Build());
        var limits = AbuseLimits.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Limits:MaxHashesInFlight"] = "3" }).Build(), auth);

        Assert.Equal(12, limits.HashQueueLength);
        Assert.Equal(TimeSpan.FromSeconds(2), limits.HashQueueWait);
    }

    [Fact]
    public async Task Twenty_parallel_signups_on_one_email_get_one_201_and_nineteen_409_and_no_503()
    {
        await using var app = App(hashes: 8);
        var email = AccountsTestExtensions.UniqueEmail("burst");

        var responses = await AtOnceAsync(20, i => SignupFrom(app, i, email));

        Assert.Equal(1, responses.Count(response => response.Status == 201));
        Assert.All(responses.Where(response => response.Status != 201), response => Assert.True(response.Status == 409, response.ToString()));
        Assert.InRange(app.Services.GetRequiredService<HashSlots>().PeakInFlight, 1, 8);
    }

    [Fact]
    public async Task Two_hundred_parallel_signups_never_hash_more_than_the_cap_at_once_and_only_those_past_the_queue_get_503()
    {
        await using var app = App(hashes: 4);

        var responses = await AtOnceAsync(200, i => SignupFrom(app, i, AccountsTestExtensions.UniqueEmail("flood" + i)));

        Assert.All(responses, response => Assert.True(response.Status == 201 || IsBusy(response), response.ToString()));
        // The cap and the queue were both filled: more got through than the cap alone would have let in at once.
        Assert.InRange(responses.Count(response => response.Status == 201), 4 + 1, 200);
        Assert.Contains(responses, IsBusy);
        Assert.InRange(app.Services.GetRequiredService<HashSlots>().PeakInFlight, 1, 4);
    }

    [Fact]
    public async Task Thirty_parallel_logins_to_one_account_get_no_503_and_at_most_five_checks()
    {
        await using var app = App(hashes: 8);
        var user = await app.NewUserAsync("popular");
        var hasher = app.Services.GetRequiredService<Functions.Passwords.PasswordHasher>();
        var before = hasher.Derivations;

        var responses = await AtOnceAsync(30, i => app.LoginAsync(user.Email, $"a wrong guess {i}"));

        Assert.All(responses, response => Assert.True(response.Status is 401 or 429, response.ToString()));
        Assert.InRange(hasher.Derivations - before, 1, Functions.Limits.LoginThrottle.MaxAttempts);
        Assert.InRange(app.Services.GetRequiredService<HashSlots>().PeakInFlight, 1, 8);
    }
}
