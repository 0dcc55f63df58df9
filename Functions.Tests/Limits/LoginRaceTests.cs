using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Limits;
using Serverless.Functions.Passwords;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Limits;

/// <summary>
/// The login throttle's reservation race: parallel logins of one account (two tabs, a retrying client) each try to reserve
/// one of the window's 5 checks before hashing. A request that loses the race must be answered as the count stands, not
/// with "too-many-attempts"; and the race must still give an attacker no more than 5 checks.
/// </summary>
public sealed class LoginRaceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        // A hash slot for every request, so only the throttle decides.
        app = TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?> { ["Limits:MaxHashesInFlight"] = "64" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private static Task<T[]> AtOnceAsync<T>(int count, Func<int, Task<T>> request) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => request(i))));

    private long Checks => app.Services.GetRequiredService<PasswordHasher>().Derivations;

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)]
    public async Task Parallel_right_logins_on_a_fresh_account_succeed_or_are_told_to_retry_in_a_second_never_too_many_attempts(int logins)
    {
        var user = await app.NewUserAsync("tabs");
        var before = Checks;

        var responses = await AtOnceAsync(logins, _ => app.LoginAsync(user.Email));

        // A lost race is never "too many attempts": the request is checked on top of the others' reservations, or, when
        // the budget is held by checks under way or a success cleared the count meanwhile, told "busy, retry in a second"
        // (a request of a burst never starts on a budget a success freed: ConcurrencyTests' guesses with the right password).
        var signedIn = responses.Count(response => response.Status == 200);
        Assert.InRange(signedIn, 1, logins);
        Assert.All(responses.Where(response => response.Status != 200), response =>
        {
            Assert.Equal(503, response.Status);
            Assert.EndsWith("/busy", response.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
            Assert.Equal("1", response.Header("Retry-After"));
        });
        Assert.Equal(signedIn, Checks - before);
        // And the successes cleared the count: the next wrong guesses get the whole budget.
        var after = Checks;
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            Assert.Equal(401, (await app.LoginAsync(user.Email, $"wrong {i}")).Status);
        }

        Assert.Equal(429, (await app.LoginAsync(user.Email)).Status);
        Assert.Equal(LoginThrottle.MaxAttempts, Checks - after);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(30)]
    public async Task Parallel_wrong_logins_on_one_account_get_at_most_five_checks_and_each_answer_says_what_happened(int logins)
    {
        var user = await app.NewUserAsync("guessed");
        var before = Checks;

        var responses = await AtOnceAsync(logins, i => app.LoginAsync(user.Email, $"a wrong guess {i}"));

        var checks = Checks - before;
        var wrong = responses.Count(response => response.Status == 401);
        Assert.InRange(checks, 1, LoginThrottle.MaxAttempts);
        Assert.Equal(checks, wrong);
        // Whoever lost a race was still checked while the budget lasted: the first five are always 401s.
        Assert.Equal(Math.Min(logins, LoginThrottle.MaxAttempts), wrong);
        Assert.All(responses.Where(response => response.Status != 401), response =>
        {
            Assert.Equal(429, response.Status);
            Assert.EndsWith("/too-many-attempts", response.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
            // The wait is the real one (15 minutes after the last check), not a lost race's second.
            Assert.InRange(int.Parse(response.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 800, 900);
        });
    }

    [Fact]
    public async Task Two_wrong_logins_at_once_are_both_checked_and_both_answered_401()
    {
        var user = await app.NewUserAsync("two");
        for (var round = 0; round < 2; round++)
        {
            var responses = await AtOnceAsync(2, i => app.LoginAsync(user.Email, $"round {round} guess {i}"));
            Assert.All(responses, response => Assert.True(response.Status == 401, response.ToString()));
        }
    }
}
