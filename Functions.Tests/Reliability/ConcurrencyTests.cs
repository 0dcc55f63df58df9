using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Passwords;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 1, concurrency: 50 requests at once on one email, one user, one ETag, one refresh token. The single-feature
/// tests check the status codes; these also check what storage holds afterwards, so a race that answers right but
/// writes wrong is caught.
/// </summary>
public sealed class ConcurrencyTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int Parallel = 50;
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            StorageRequestCounter.AddTo(services);
        });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private static Task<T[]> AtOnceAsync<T>(int count, Func<int, Task<T>> request) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => request(i))));

    [Fact]
    public async Task Fifty_parallel_signups_with_one_email_store_one_user_with_the_winners_password_and_one_session()
    {
        var email = AccountsTestExtensions.UniqueEmail("race");
        string Password(int i) => $"{AccountsTestExtensions.GoodPassword} {i:D2}";

        var responses = await AtOnceAsync(Parallel, i => app.SignupAsync(i % 2 == 0 ? email : email.ToUpperInvariant(), Password(i)));

        var winner = Assert.Single(responses, response => response.Status == 201);
        // A loser is 409, or 503 "busy" when the instance's hash cap refused it before hashing.
        Assert.All(responses.Where(response => response != winner), response => Assert.True(response.Status == 409 || IsBusy(response), response.ToString()));
        var winnerIndex = Array.IndexOf(responses, winner);
        var userId = winner.Json.GetProperty("user").GetProperty("id").GetString()!;
        var key = app.AccountKey(email);
        // The account's row and its one session row, in the account's partition.
        Assert.Equal(1, await CountAsync(AppTables.Users, TableClient.CreateQueryFilter($"PartitionKey eq {key} and RowKey eq {key}")));
        Assert.Equal(1, await CountAsync(AppTables.Users, TableClient.CreateQueryFilter($"PartitionKey eq {key} and UserId eq {userId} and RowKey ge {"session-"} and RowKey lt {"session."}")));
        // One verification mail: the losers' batches (account row, session, token, outbox, limit) failed as a whole.
        Assert.Equal(1, await CountAsync(AppTables.Users,
            TableClient.CreateQueryFilter($"PartitionKey eq {key} and RowKey ge {"mailtoken-"} and RowKey lt {"mailtoken."}")));
        Assert.Equal(200, (await app.LoginAsync(email, Password(winnerIndex))).Status);
        Assert.Equal(401, (await app.LoginAsync(email, Password((winnerIndex + 1) % Parallel))).Status);
    }

    [Fact]
    public async Task Fifty_parallel_creates_by_one_user_store_and_list_fifty_distinct_items()
    {
        var user = await app.NewUserAsync("creator");

        var responses = await AtOnceAsync(Parallel, i => app.PostJsonAsync("/api/items", new { title = $"Parallel {i}" }, user.AccessToken));

        Assert.All(responses, response => Assert.Equal(201, response.Status));
        var created = responses.ToDictionary(response => response.Json.GetProperty("id").GetString()!, response => response.Json.GetProperty("title").GetString());
        Assert.Equal(Parallel, created.Count);
        Assert.Equal(Parallel, await CountAsync(AppTables.Items, TableClient.CreateQueryFilter($"PartitionKey eq {user.Id} and RowKey ne {ItemStore.MarkerRowKey}")));
        var listed = (await app.GetAsync("/api/items?limit=100", user.AccessToken)).Json.GetProperty("items").EnumerateArray()
            .Select(item => (Id: item.GetProperty("id").GetString()!, Title: item.GetProperty("title").GetString())).ToList();
        Assert.Equal(Parallel, listed.Count);
        Assert.All(listed, item => Assert.Equal(created[item.Id], item.Title));
        Assert.Equal(listed.Select(item => item.Id).Order(StringComparer.Ordinal), listed.Select(item => item.Id));
    }

    [Fact]
    public async Task Fifty_parallel_puts_and_deletes_with_one_if_match_let_exactly_one_through()
    {
        var user = await app.NewUserAsync("contender");
        var created = await app.PostJsonAsync("/api/items", new { title = "Contended" }, user.AccessToken);
        var path = created.Header("Location")!;
        var ifMatch = RouteRequests.IfMatch(created.Header("ETag")!);

        var responses = await AtOnceAsync(Parallel, i => i % 5 == 0
            ? app.SendAsync("DELETE", path, bearer: user.AccessToken, headers: ifMatch)
            : app.SendAsync("PUT", path, JsonSerializer.Serialize(new { title = $"Writer {i}" }), "application/json", user.AccessToken, ifMatch));

        var winner = Assert.Single(responses, response => response.Status is 200 or 204);
        // A loser that arrives after a winning DELETE finds no item: 404 is as right as 412 then (nothing changed either way).
        int[] loserStatuses = winner.Status == 204 ? [412, 404] : [412];
        Assert.All(responses.Where(response => response != winner), response => Assert.Contains(response.Status, loserStatuses));
        var read = await app.GetAsync(path, user.AccessToken);
        if (winner.Status == 204)
        {
            Assert.Equal(404, read.Status);
        }
        else
        {
            Assert.Equal(winner.Body, read.Body);
            Assert.Equal(winner.Header("ETag"), read.Header("ETag"));
        }
    }

    [Fact]
    public async Task Fifty_parallel_refreshes_of_one_token_all_get_the_same_session_and_a_later_reuse_revokes_it()
    {
        var user = await app.NewUserAsync("tabs");

        var responses = await AtOnceAsync(Parallel, _ => app.RefreshAsync(user.RefreshToken));

        Assert.All(responses, response => Assert.True(response.Status == 200, response.ToString()));
        var next = Assert.Single(responses.Select(response => response.Json.GetProperty("refreshToken").GetString()!).Distinct());
        var session = await SessionRowAsync(user.RefreshToken);
        Assert.Equal(1, session.GetInt32("Rotations"));

        clock.Advance(SessionService.ConcurrentRefreshGrace);
        var reuse = await app.RefreshAsync(user.RefreshToken);
        var afterReuse = await app.RefreshAsync(next);

        Assert.Equal(401, reuse.Status);
        Assert.Equal(401, afterReuse.Status);
        Assert.Null(await SessionRowOrNullAsync(user.RefreshToken));
    }

    [Fact]
    public async Task Parallel_failed_logins_on_two_emails_check_no_more_than_five_passwords_on_each()
    {
        var known = await app.NewUserAsync("attacked");
        var unknown = AccountsTestExtensions.UniqueEmail("ghost");
        var hasher = app.Services.GetRequiredService<PasswordHasher>();
        var storage = app.Services.GetRequiredService<StorageRequestCounter>();
        storage.Reset();
        var before = hasher.Derivations;

        var responses = await AtOnceAsync(Parallel, i => i % 2 == 0
            ? app.LoginAsync(i % 4 == 0 ? known.Email : known.Email.ToUpperInvariant(), $"wrong password number {i}")
            : app.LoginAsync(unknown, $"wrong password number {i}"));

        Assert.All(responses, response => Assert.True(response.Status is 401 or 429 || IsBusy(response), response.ToString()));
        // Every 401 is one password checked (the unknown email's being the dummy verification), and nothing else hashes.
        Assert.Equal(responses.Count(response => response.Status == 401), hasher.Derivations - before);
        // A figure for docs/reliability.md, not a check: what the burst cost in storage requests.
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Parallel} failed logins: {storage.Requests.Count(request => request.Contains(AppTables.Users, StringComparison.Ordinal))} requests to Users, {hasher.Derivations - before} passwords checked");
        foreach (var (email, parity) in new[] { (known.Email, 0), (unknown, 1) })
        {
            var answered401 = responses.Where((_, i) => i % 2 == parity).Count(response => response.Status == 401);
            var key = app.AccountKey(email);
            var row = (await app.Table(AppTables.Users).GetEntityAsync<TableEntity>(key, LoginThrottleStore.RowKey, cancellationToken: TestContext.Current.CancellationToken)).Value;
            Assert.Equal(answered401, row.GetInt32("Attempts"));
            Assert.InRange(answered401, 1, LoginThrottle.MaxAttempts);
        }
    }

    [Theory]
    [InlineData(30)]
    [InlineData(50)]
    public async Task Parallel_guesses_with_the_right_password_among_them_get_at_most_five_checks(int guesses)
    {
        var user = await app.NewUserAsync("guessed");
        var hasher = app.Services.GetRequiredService<PasswordHasher>();
        var right = guesses / 2 + 3;
        var before = hasher.Derivations;

        var responses = await AtOnceAsync(guesses, i => app.LoginAsync(user.Email, i == right ? AccountsTestExtensions.GoodPassword : $"a guess number {i}"));

        var checks = hasher.Derivations - before;
        Assert.InRange(checks, 1, LoginThrottle.MaxAttempts);
        Assert.InRange(responses.Count(response => response.Status is 200 or 401), 1, LoginThrottle.MaxAttempts);
        Assert.All(responses, response => Assert.True(response.Status is 200 or 401 or 429 || IsBusy(response), response.ToString()));
        Assert.All(responses.Where(response => response.Status is 429 or 503), response => Assert.NotNull(response.Header("Retry-After")));
    }

    [Fact]
    public async Task Waves_of_parallel_guesses_within_one_window_get_five_checks_in_all_and_then_the_right_password_is_refused()
    {
        var user = await app.NewUserAsync("waves");
        var hasher = app.Services.GetRequiredService<PasswordHasher>();
        var before = hasher.Derivations;

        for (var wave = 0; wave < 6; wave++)
        {
            await AtOnceAsync(20, i => app.LoginAsync(user.Email, $"wave {wave} guess {i}"));
            clock.Advance(TimeSpan.FromSeconds(2));
        }

        var rightPassword = await app.LoginAsync(user.Email);

        Assert.Equal(LoginThrottle.MaxAttempts, hasher.Derivations - before);
        Assert.Equal(429, rightPassword.Status);
    }

    private static bool IsBusy(TestResponse response) =>
        response.Status == 503 && response.Json.GetProperty("type").GetString()!.EndsWith("/busy", StringComparison.Ordinal);

    private async Task<TableEntity> SessionRowAsync(string refreshToken) =>
        await SessionRowOrNullAsync(refreshToken) ?? throw new InvalidOperationException("No session row.");

    private async Task<TableEntity?> SessionRowOrNullAsync(string refreshToken)
    {
        var token = RefreshToken.TryParse(refreshToken)!;
        var row = await app.Table(AppTables.Users).GetEntityIfExistsAsync<TableEntity>(token.AccountKey, SessionStore.RowKeyOf(token.SessionId),
            cancellationToken: TestContext.Current.CancellationToken);
        return row.HasValue ? row.Value : null;
    }

    private async Task<int> CountAsync(string table, string filter)
    {
        var count = 0;
        await foreach (var _ in app.Table(table).QueryAsync<TableEntity>(filter, select: ["PartitionKey"], cancellationToken: TestContext.Current.CancellationToken))
        {
            count++;
        }

        return count;
    }
}
