using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Accounts;
using Serverless.Functions.Deletion;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Deletion;

/// <summary>
/// The purge recovery against real Azurite (tables and queue): a deleted account's partition keeps its pending-purge row
/// until the purge is done, so a purge whose message was lost or poisoned is enqueued again after the grace period and
/// finishes; a purge still at it, or younger than the grace, is left alone; recoveries at once enqueue it once. And owner
/// markers of signups that never got their account are deleted, while every marker of an existing account stays.
/// </summary>
public sealed class PurgeRecoveryTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan PastGrace = ItemStore.RecoveryGrace + TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;
    private KillSwitch killSwitch = null!;
    private PurgeRunner purges = null!;
    private PurgeRecovery recovery = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            KillSwitch.AddTo(services);
        });
        killSwitch = app.Services.GetRequiredService<KillSwitch>();
        purges = new PurgeRunner(app, azurite.ConnectionString);
        recovery = app.Services.GetRequiredService<PurgeRecovery>();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task A_purge_whose_message_was_lost_is_enqueued_again_after_the_grace_period_and_deletes_everything_and_its_record()
    {
        var user = await DeletedUserWithItemsAsync("lost", 3);
        await purges.LoseAllAsync();

        // Younger than the grace period (a purge may just be slow): left alone.
        clock.Advance(ItemStore.RecoveryGrace - TimeSpan.FromMinutes(1));
        var early = await recovery.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, early.PurgesRequeued);
        Assert.Equal(0, await purges.PendingAsync());
        Assert.True(await HasPendingPurgeRowAsync(user.Id));
        Assert.Equal(3, await CountItemsAsync(user.Id));

        clock.Advance(TimeSpan.FromMinutes(2));
        var recovered = await recovery.RunAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, recovered.PurgesRequeued);
        Assert.Equal(1, await purges.DrainAsync());

        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.False(await HasPendingPurgeRowAsync(user.Id));
        Assert.Equal(0, await CountRowsAsync(AppTables.Users, app.AccountKey(user.Email)));
        clock.Advance(PastGrace);
        Assert.Equal(0, (await recovery.RunAsync(TestContext.Current.CancellationToken)).PurgesRequeued);
        Assert.Equal(0, await purges.PendingAsync());
    }

    [Fact]
    public async Task A_purge_poisoned_after_twenty_failed_deliveries_is_finished_by_the_recovery()
    {
        var user = await DeletedUserWithItemsAsync("poisoned", 4);

        killSwitch.KillAfterBatches(0);
        for (var delivery = 1; delivery <= PurgeRunner.MaxDequeueCount; delivery++)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => purges.RunNextAsync(TestContext.Current.CancellationToken));
        }

        killSwitch.Revive();
        Assert.Equal(0, await purges.PendingAsync());
        Assert.Equal(1, await purges.PoisonedAsync());
        Assert.Equal(4, await CountItemsAsync(user.Id));

        clock.Advance(PastGrace);
        Assert.Equal(1, (await recovery.RunAsync(TestContext.Current.CancellationToken)).PurgesRequeued);
        await purges.DrainAsync();

        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.False(await HasPendingPurgeRowAsync(user.Id));
    }

    [Fact]
    public async Task Eight_recoveries_at_once_enqueue_the_purge_once_and_racing_purges_delete_everything_without_errors()
    {
        var user = await DeletedUserWithItemsAsync("twice", 5);
        await purges.LoseAllAsync();
        clock.Advance(PastGrace);

        var reports = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => recovery.RunAsync(TestContext.Current.CancellationToken))));

        Assert.Equal(1, reports.Sum(report => report.PurgesRequeued));
        Assert.Equal(1, await purges.PendingAsync());
        // The recovered purge races a late delivery of the original message: both finish, nothing is left.
        var service = app.Services.GetRequiredService<AccountDeletionService>();
        var message = new PurgeMessage(user.Id, app.AccountKey(user.Email));
        var racing = Task.WhenAll(
            Task.Run(() => service.PurgeAsync(message, TestContext.Current.CancellationToken)),
            Task.Run(() => service.PurgeAsync(message, TestContext.Current.CancellationToken)));
        Assert.Equal(1, await purges.DrainAsync());
        Assert.Equal([PurgeProgress.Finished, PurgeProgress.Finished], await racing);
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
        Assert.Equal(0, await purges.PendingAsync());
        // A purge run once more after the end writes nothing back.
        Assert.Equal(PurgeProgress.Finished, await service.PurgeAsync(message, TestContext.Current.CancellationToken));
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, user.Id));
    }

    [Fact]
    public async Task A_purge_that_goes_on_in_continuations_is_not_recovered_while_it_runs()
    {
        await using var slow = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton(new PurgeLimits(1, TimeSpan.FromMinutes(5)));
        });
        var runner = new PurgeRunner(slow, azurite.ConnectionString);
        var user = await slow.NewUserAsync("continues");
        await SeedItemsAsync(slow, user.Id, 250);
        Assert.Equal(204, (await DeleteAsync(slow, user)).Status);

        // Fifty minutes later a run deletes one batch and hands over to its continuation, which pushes the recovery back.
        clock.Advance(TimeSpan.FromMinutes(50));
        Assert.True(await runner.RunNextAsync());
        clock.Advance(TimeSpan.FromMinutes(20));
        var report = await slow.Services.GetRequiredService<PurgeRecovery>().RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, report.PurgesRequeued);
        Assert.Equal(1, await runner.PendingAsync());
        await runner.DrainAsync();
        Assert.Equal(0, await CountRowsAsync(slow, AppTables.Items, user.Id));
    }

    [Fact]
    public async Task An_owner_marker_whose_signup_died_before_the_account_is_deleted_after_the_grace_period()
    {
        var items = app.Services.GetRequiredService<ItemStore>();
        var userId = AccountService.NewUserId();
        // The signup wrote the marker, then its process died before the account's batch.
        await items.AddMarkerAsync(userId, app.AccountKey(AccountsTestExtensions.UniqueEmail("died")), Now(), TestContext.Current.CancellationToken);

        // Younger than the grace period, it may be a signup still on its way to the account: left alone.
        clock.Advance(ItemStore.RecoveryGrace - TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await recovery.RunAsync(TestContext.Current.CancellationToken)).OrphanMarkersDeleted);
        Assert.True(await HasMarkerAsync(userId));
        clock.Advance(TimeSpan.FromMinutes(2));
        var report = await recovery.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, report.OrphanMarkersDeleted);
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, userId));
    }

    [Fact]
    public async Task The_marker_of_a_signup_that_lost_its_email_goes_and_the_winners_stays_and_keeps_working()
    {
        var winner = await app.NewUserAsync("winner");
        var loserId = AccountService.NewUserId();
        // The losing signup of the same email died before deleting its marker.
        await app.Services.GetRequiredService<ItemStore>().AddMarkerAsync(loserId, app.AccountKey(winner.Email), Now(), TestContext.Current.CancellationToken);
        clock.Advance(PastGrace);

        var report = await recovery.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, report.OrphanMarkersDeleted);
        Assert.Equal(1, report.MarkersChecked);
        Assert.False(await HasMarkerAsync(loserId));
        Assert.True(await HasMarkerAsync(winner.Id));
        Assert.Equal(WriteStatus.Done, await WriteItemAsync(winner.Id));
        // A checked marker is never looked at again: each account costs the recovery one check in its life.
        clock.Advance(PastGrace);
        Assert.Equal(new RecoveryReport(0, 0, 0, Complete: true), await recovery.RunAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Markers_of_live_accounts_and_of_a_deletion_not_yet_past_its_marker_stay_and_a_deleted_partition_stays_closed()
    {
        var live = await app.NewUserAsync("live");
        var dying = await app.NewUserAsync("dying");
        var deleted = await DeletedUserWithItemsAsync("closed", 1);
        await purges.LoseAllAsync();
        // The request enqueued the purge, then its process died before the marker: a purge is pending, the marker still there.
        await app.Services.GetRequiredService<PurgeJobs>().EnqueueAsync(new PurgeMessage(dying.Id, app.AccountKey(dying.Email)), TestContext.Current.CancellationToken);
        clock.Advance(PastGrace);

        var report = await recovery.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, report.OrphanMarkersDeleted);
        Assert.True(await HasMarkerAsync(live.Id));
        Assert.True(await HasMarkerAsync(dying.Id));
        Assert.False(await HasMarkerAsync(deleted.Id));
        // Straight through the store: the access tokens expired with the hour the clock moved on, the markers did not.
        Assert.Equal(WriteStatus.Done, await WriteItemAsync(live.Id));
        Assert.Equal(WriteStatus.AccountGone, await WriteItemAsync(deleted.Id));
        await purges.DrainAsync();
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, dying.Id));
        Assert.Equal(0, await CountRowsAsync(AppTables.Items, deleted.Id));
        Assert.True(await HasMarkerAsync(live.Id));
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private async Task<WriteStatus> WriteItemAsync(string userId)
    {
        var now = Now();
        var item = new ItemView(ItemId.New(now), "Written", null, now, now);
        return (await app.Services.GetRequiredService<ItemStore>().TryAddAsync(userId, item, TestContext.Current.CancellationToken)).Status;
    }

    private async Task<SignedInUser> DeletedUserWithItemsAsync(string name, int items)
    {
        var user = await app.NewUserAsync(name);
        for (var i = 0; i < items; i++)
        {
            Assert.Equal(201, (await app.PostJsonAsync("/api/items", new { title = $"Item {i}" }, user.AccessToken)).Status);
        }

        Assert.Equal(204, (await DeleteAsync(app, user)).Status);
        Assert.True(await HasPendingPurgeRowAsync(user.Id));
        return user;
    }

    private static Task<TestResponse> DeleteAsync(TestApp target, SignedInUser user) =>
        target.SendAsync("DELETE", "/api/me", JsonSerializer.Serialize(new { password = AccountsTestExtensions.GoodPassword }), "application/json", user.AccessToken);

    private async Task<bool> HasMarkerAsync(string userId) =>
        (await app.Table(AppTables.Items).GetEntityIfExistsAsync<TableEntity>(userId, ItemStore.MarkerRowKey, cancellationToken: TestContext.Current.CancellationToken)).HasValue;

    private async Task<bool> HasPendingPurgeRowAsync(string userId) =>
        (await app.Table(AppTables.Items).GetEntityIfExistsAsync<TableEntity>(userId, ItemStore.PurgeRowKey, cancellationToken: TestContext.Current.CancellationToken)).HasValue;

    private async Task<int> CountItemsAsync(string userId) =>
        await CountRowsAsync(AppTables.Items, userId) - (await HasPendingPurgeRowAsync(userId) ? 1 : 0) - (await HasMarkerAsync(userId) ? 1 : 0);

    private Task<int> CountRowsAsync(string table, string partitionKey) => CountRowsAsync(app, table, partitionKey);

    private static async Task<int> CountRowsAsync(TestApp target, string table, string partitionKey)
    {
        var count = 0;
        await foreach (var _ in target.Table(table).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}"),
            select: ["RowKey"], cancellationToken: TestContext.Current.CancellationToken))
        {
            count++;
        }

        return count;
    }

    private static async Task SeedItemsAsync(TestApp target, string userId, int count)
    {
        var start = DateTime.UtcNow;
        foreach (var chunk in Enumerable.Range(0, count).Chunk(ItemStore.MaxBatchSize))
        {
            await target.Table(AppTables.Items).SubmitTransactionAsync(chunk.Select(i =>
            {
                var createdAt = start.AddMilliseconds(-i);
                return new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(userId, ItemId.New(createdAt))
                {
                    ["Title"] = "Item " + i,
                    ["Description"] = "",
                    ["CreatedAt"] = createdAt,
                    ["UpdatedAt"] = createdAt,
                });
            }), TestContext.Current.CancellationToken);
        }
    }
}
