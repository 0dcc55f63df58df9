using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Deletion;
using Serverless.Functions.Limits;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Deletion;

/// <summary>
/// <c>DELETE /api/me</c> against real Azurite (tables and queue): everything of the account goes, its still-valid access
/// tokens reach nothing from the answer on, the email signs up again at once, and the background purge finishes whatever
/// happens to it.
/// </summary>
public sealed class AccountDeletionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private PurgeRunner purges = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        purges = new PurgeRunner(app, azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private Task<TestResponse> DeleteAccountAsync(string accessToken, string? password = AccountsTestExtensions.GoodPassword) =>
        app.SendAsync("DELETE", "/api/me", JsonSerializer.Serialize(new { password }), "application/json", accessToken);

    [Fact]
    public async Task Deleting_the_account_answers_204_and_its_tokens_reach_nothing_from_then_on()
    {
        var user = await app.NewUserAsync("deleted");
        var item = await app.PostJsonAsync("/api/items", new { title = "Mine" }, user.AccessToken);
        var path = item.Header("Location")!;

        var deleted = await DeleteAccountAsync(user.AccessToken);

        Assert.Equal(204, deleted.Status);
        var afterwards = new[]
        {
            await app.GetAsync("/api/me", user.AccessToken),
            await app.GetAsync("/api/items", user.AccessToken),
            await app.GetAsync(path, user.AccessToken),
            await app.PostJsonAsync("/api/items", new { title = "After" }, user.AccessToken),
            await app.SendAsync("PUT", path, """{"title":"After"}""", "application/json", user.AccessToken),
            await app.SendAsync("DELETE", path, bearer: user.AccessToken),
            await DeleteAccountAsync(user.AccessToken),
        };
        Assert.All(afterwards, response =>
        {
            Assert.True(response.Status == 401, response.ToString());
            Assert.Equal("Bearer error=\"invalid_token\"", response.Header("WWW-Authenticate"));
        });
        Assert.Equal(401, (await app.LoginAsync(user.Email)).Status);
        // Not even the purge is needed for that: the items are still stored, but no token of the account reaches them.
        Assert.True(await CountRowsAsync(AppTables.Items, user.Id) > 0);
    }

    [Fact]
    public async Task The_email_signs_up_again_at_once_and_the_new_account_sees_nothing_of_the_old_one()
    {
        var old = await app.NewUserAsync("again");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(201, (await app.PostJsonAsync("/api/items", new { title = "Old " + i }, old.AccessToken)).Status);
        }

        Assert.Equal(204, (await DeleteAccountAsync(old.AccessToken)).Status);
        var signup = await app.SignupAsync(old.Email, "another passphrase for the new account");

        Assert.Equal(201, signup.Status);
        var fresh = SignedInUser.From(old.Email, signup.Json);
        Assert.NotEqual(old.Id, fresh.Id);
        Assert.Equal(0, (await app.GetAsync("/api/items", fresh.AccessToken)).Json.GetProperty("items").GetArrayLength());
        Assert.Equal(401, (await app.GetAsync("/api/items", old.AccessToken)).Status);

        // The old account's purge, run after the new signup, leaves the new account alone.
        var created = await app.PostJsonAsync("/api/items", new { title = "New" }, fresh.AccessToken);
        Assert.Equal(1, await purges.DrainAsync());
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, old.Id));
        Assert.Equal(200, (await app.GetAsync("/api/me", fresh.AccessToken)).Status);
        Assert.Equal(200, (await app.GetAsync(created.Header("Location")!, fresh.AccessToken)).Status);
        Assert.Equal(200, (await app.LoginAsync(old.Email, "another passphrase for the new account")).Status);
    }

    [Fact]
    public async Task Every_row_of_the_accounts_users_partition_goes_with_the_answer_and_every_item_with_the_purge()
    {
        var user = await app.NewUserAsync("everything");
        var key = app.AccountKey(user.Email);
        Assert.Equal(401, (await app.LoginAsync(user.Email, "a wrong password to leave a throttle row")).Status);
        // Rows of kinds this code does not know yet (sessions, mail tokens) go too: the whole partition is the account's.
        await app.Table(AppTables.Users).AddEntityAsync(new TableEntity(key, "session-someday"), TestContext.Current.CancellationToken);
        for (var i = 0; i < 5; i++)
        {
            await app.PostJsonAsync("/api/items", new { title = "Item " + i }, user.AccessToken);
        }

        // The account, its throttle row, its signup session, the row of an unknown kind, and the verification mail's token,
        // outbox and limit rows (the outbox row stays: the tests' SMTP port has no server).
        Assert.Equal(7, await CountRowsAsync(AppTables.Users, key));
        Assert.Equal(204, (await DeleteAccountAsync(user.AccessToken)).Status);

        Assert.Equal(0, await CountRowsAsync(AppTables.Users, key));
        // The five items, and in place of the owner marker the row that says the partition still has to be purged.
        Assert.Equal(6, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.Equal(1, await purges.PendingAsync());
        Assert.Equal(1, await purges.DrainAsync());
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.Equal(0, await purges.PendingAsync());
    }

    [Fact]
    public async Task A_wrong_password_is_400_counts_as_a_failed_login_and_deletes_nothing()
    {
        var user = await app.NewUserAsync("wrong");
        await app.PostJsonAsync("/api/items", new { title = "Kept" }, user.AccessToken);
        var before = await Reliability.StorageSnapshot.TakeAsync(app, azurite.ConnectionString);

        var attempts = new List<TestResponse>();
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            attempts.Add(await DeleteAccountAsync(user.AccessToken, $"wrong password number {i}"));
        }

        var throttled = await DeleteAccountAsync(user.AccessToken);
        var login = await app.LoginAsync(user.Email);

        Assert.All(attempts, attempt =>
        {
            Assert.True(attempt.Status == 400, attempt.ToString());
            Assert.True(attempt.Json.GetProperty("errors").TryGetProperty("password", out _), attempt.ToString());
        });
        // Five wrong guesses through a stolen access token lock the account's password checks as five at the login form would,
        // the right password included.
        Assert.Equal(429, throttled.Status);
        Assert.NotNull(throttled.Header("Retry-After"));
        Assert.Equal(429, login.Status);
        Assert.Empty(before.ChangesTo(await Reliability.StorageSnapshot.TakeAsync(app, azurite.ConnectionString), LoginThrottleStore.RowKey));
        Assert.Equal(0, await purges.PendingAsync());
        Assert.Equal(200, (await app.GetAsync("/api/items", user.AccessToken)).Status);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"password":""}""")]
    [InlineData("""{"password":null}""")]
    public async Task A_missing_password_is_400_and_deletes_nothing(string body)
    {
        var user = await app.NewUserAsync("missing");

        var response = await app.SendAsync("DELETE", "/api/me", body, "application/json", user.AccessToken);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("password", out _), response.ToString());
        Assert.Equal(200, (await app.GetAsync("/api/me", user.AccessToken)).Status);
    }

    [Fact]
    public async Task Creates_racing_the_deletion_leave_no_item_and_none_answers_201_after_the_204()
    {
        var user = await app.NewUserAsync("race");
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        long deletedAt = long.MaxValue;

        async Task<List<(TestResponse Response, long At)>> CreateUntilStoppedAsync(int worker)
        {
            var answers = new List<(TestResponse, long)>();
            for (var i = 0; !stop.IsCancellationRequested || i < 5; i++)
            {
                var response = await app.PostJsonAsync("/api/items", new { title = $"Racer {worker}.{i}" }, user.AccessToken);
                answers.Add((response, clock.ElapsedTicks));
                if (response.Status == 401)
                {
                    break;
                }
            }

            return answers;
        }

        var creators = Enumerable.Range(0, 8).Select(worker => Task.Run(() => CreateUntilStoppedAsync(worker))).ToList();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        var deletion = await DeleteAccountAsync(user.AccessToken);
        deletedAt = clock.ElapsedTicks;
        await stop.CancelAsync();
        var answers = (await Task.WhenAll(creators)).SelectMany(list => list).ToList();
        // Less the pending-purge row that replaced the owner marker.
        var itemsBeforePurge = await CountRowsAsync(AppTables.Items, user.Id) - 1;
        await purges.DrainAsync();

        Assert.Equal(204, deletion.Status);
        Assert.All(answers, answer => Assert.True(answer.Response.Status is 201 or 401, answer.Response.ToString()));
        Assert.Contains(answers, answer => answer.Response.Status == 201);
        Assert.Contains(answers, answer => answer.Response.Status == 401);
        Assert.DoesNotContain(answers, answer => answer.Response.Status == 201 && answer.At > deletedAt);
        Assert.True(itemsBeforePurge <= answers.Count(answer => answer.Response.Status == 201), $"{itemsBeforePurge} rows for fewer creates");
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
    }

    [Fact]
    public async Task A_purge_enqueued_by_a_request_that_died_right_after_still_deletes_the_whole_account()
    {
        var user = await app.NewUserAsync("died");
        await app.PostJsonAsync("/api/items", new { title = "Orphan-to-be" }, user.AccessToken);
        var key = app.AccountKey(user.Email);

        // The request enqueued the purge, then its process died before deleting anything.
        await app.Services.GetRequiredService<PurgeJobs>().EnqueueAsync(new PurgeMessage(user.Id, key), TestContext.Current.CancellationToken);
        await purges.DrainAsync();

        Assert.Equal(0, await CountRowsAsync(AppTables.Users, key));
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.Equal(401, (await app.GetAsync("/api/items", user.AccessToken)).Status);
        Assert.Equal(201, (await app.SignupAsync(user.Email)).Status);
    }

    [Fact]
    public async Task A_message_this_app_did_not_write_is_dropped_without_touching_storage()
    {
        var user = await app.NewUserAsync("garbage");
        var before = await Reliability.StorageSnapshot.TakeAsync(app, azurite.ConnectionString);
        var function = ActivatorUtilities.CreateInstance<AccountPurgeFunction>(app.Services);

        foreach (var message in new[] { "", "not json", "{}", """{"userId":""}""", $$"""{"userId":"{{user.Id}}"}""", "[1,2]" })
        {
            await function.Run(message, TestContext.Current.CancellationToken);
        }

        Assert.Empty(before.ChangesTo(await Reliability.StorageSnapshot.TakeAsync(app, azurite.ConnectionString)));
    }

    private async Task<int> CountRowsAsync(string table, string partitionKey)
    {
        var count = 0;
        await foreach (var _ in app.Table(table).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}"),
            select: ["RowKey"], cancellationToken: TestContext.Current.CancellationToken))
        {
            count++;
        }

        return count;
    }
}
