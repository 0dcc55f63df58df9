using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Deletion;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Deletion;

/// <summary>
/// A large account is deleted at once and purged in the background: runs bounded in batches hand over to continuation
/// messages, a run killed half-way is delivered again and resumes, two runs at once do no harm, and at the end storage
/// holds nothing of the account. The 100,000-item figures are in docs/performance.md.
/// </summary>
public sealed class LargeAccountPurgeTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int ItemCount = 6_000;
    private const int BatchesPerRun = 15;

    private TestApp app = null!;
    private KillSwitch killSwitch = null!;
    private PurgeRunner purges = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            KillSwitch.AddTo(services);
            services.AddSingleton(new PurgeLimits(BatchesPerRun, TimeSpan.FromMinutes(5)));
        });
        killSwitch = app.Services.GetRequiredService<KillSwitch>();
        purges = new PurgeRunner(app, azurite.ConnectionString);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task A_large_account_purge_killed_half_way_resumes_from_its_message_and_leaves_nothing()
    {
        var user = await app.NewUserAsync("large");
        await SeedItemsAsync(user.Id, ItemCount);
        var clock = Stopwatch.StartNew();

        var deleted = await app.SendAsync("DELETE", "/api/me", JsonSerializer.Serialize(new { password = AccountsTestExtensions.GoodPassword }),
            "application/json", user.AccessToken);
        var answeredIn = clock.Elapsed;

        Assert.Equal(204, deleted.Status);
        Assert.Equal(401, (await app.GetAsync("/api/items?limit=100", user.AccessToken)).Status);

        // The first run dies after 10 batches: its message stays, and some but not all items are gone.
        killSwitch.KillAfterBatches(10);
        await Assert.ThrowsAnyAsync<Exception>(() => purges.RunNextAsync(TestContext.Current.CancellationToken));
        killSwitch.Revive();
        var left = await CountRowsAsync(AppTables.Items, user.Id);
        Assert.InRange(left, 1, ItemCount - 1);
        Assert.Equal(1, await purges.PendingAsync());

        // Delivered again, and once more alongside (a duplicate delivery), the runs hand over to continuations until done.
        var duplicate = app.Services.GetRequiredService<AccountDeletionService>()
            .PurgeAsync(new PurgeMessage(user.Id, app.AccountKey(user.Email)), TestContext.Current.CancellationToken);
        var runs = await purges.DrainAsync();
        await duplicate;
        runs += await purges.DrainAsync();

        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.Equal(0, await CountRowsAsync(AppTables.Users, app.AccountKey(user.Email)));
        Assert.Equal(0, await purges.PendingAsync());
        // Each run does at most its budget of batches: the rest needed continuations.
        Assert.True(runs >= left / (BatchesPerRun * ItemStore.MaxBatchSize), $"{runs} runs for {left} items");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{ItemCount} items: DELETE answered in {answeredIn.TotalMilliseconds:F0} ms; purge done in {clock.Elapsed.TotalSeconds:F1} s over {runs} runs");
    }

    [Fact]
    public async Task Each_run_stops_at_its_batch_budget_and_enqueues_its_continuation()
    {
        var user = await app.NewUserAsync("budget");
        var items = (BatchesPerRun * ItemStore.MaxBatchSize) + 250;
        await SeedItemsAsync(user.Id, items);
        Assert.Equal(204, (await app.SendAsync("DELETE", "/api/me", JsonSerializer.Serialize(new { password = AccountsTestExtensions.GoodPassword }),
            "application/json", user.AccessToken)).Status);
        var service = app.Services.GetRequiredService<AccountDeletionService>();
        var message = new PurgeMessage(user.Id, app.AccountKey(user.Email));
        await purges.RunNextAsync(); // the request's own message: one full run
        var pendingAfterFirst = await purges.PendingAsync();
        var leftAfterFirst = await CountRowsAsync(AppTables.Items, user.Id);

        var second = await service.PurgeAsync(message, TestContext.Current.CancellationToken);

        Assert.Equal(1, pendingAfterFirst);
        // The items left, and the pending-purge row: it goes last, with them.
        Assert.Equal(items - (BatchesPerRun * ItemStore.MaxBatchSize) + 1, leftAfterFirst);
        Assert.Equal(PurgeProgress.Finished, second);
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
    }

    // Straight into the table, in the item shape ItemStore writes, batches of 100: as if created one by one, faster. Through a
    // client of the test's own: the app's gives up after 2 seconds and resends, and a resent batch that had landed fails.
    private async Task SeedItemsAsync(string userId, int count)
    {
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(app.TablePrefix + AppTables.Items);
        var start = DateTime.UtcNow;
        var batches = Enumerable.Range(0, count).Chunk(ItemStore.MaxBatchSize).Select(chunk => chunk.Select(i =>
        {
            var createdAt = start.AddMilliseconds(-i);
            return new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(userId, ItemId.New(createdAt))
            {
                ["Title"] = "Item " + i,
                ["Description"] = "",
                ["CreatedAt"] = createdAt,
                ["UpdatedAt"] = createdAt,
            });
        }).ToList());
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = TestContext.Current.CancellationToken },
            async (batch, cancellationToken) => await table.SubmitTransactionAsync(batch, cancellationToken));
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
