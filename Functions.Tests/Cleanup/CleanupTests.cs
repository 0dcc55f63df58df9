// Slightly over ~300 lines: every row kind the hourly cleanup removes, on one fake clock and one set of tables.
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Cleanup;
using Serverless.Functions.Items;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Performance;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Cleanup;

/// <summary>The expired-rows cleanup, run directly against Azurite on a fake clock (tables of this test class only).</summary>
public sealed class CleanupTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;
    private ExpiredRowsCleanup cleanup = null!;
    private StorageRequestLog log = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            StorageRequestLog.AddTo(services);
        });
        cleanup = app.Services.GetRequiredService<ExpiredRowsCleanup>();
        log = app.Services.GetRequiredService<StorageRequestLog>();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<List<string>> RowKeysAsync(string email)
    {
        var key = app.AccountKey(email);
        var rows = new List<string>();
        await foreach (var row in app.Table(AppTables.Users).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {key}"),
            cancellationToken: TestContext.Current.CancellationToken))
        {
            // A signup's verification mail leaves its outbox row while the mail is unsent (the tests' SMTP port has no server,
            // and no drainer runs here): once its token has expired the cleanup's outbox recovery deletes it unsent.
            rows.Add(row.RowKey == key ? "account"
                : row.RowKey.StartsWith(SessionStore.RowKeyPrefix, StringComparison.Ordinal) ? "session"
                : row.RowKey.StartsWith(Functions.Mail.MailStore.OutboxPrefix, StringComparison.Ordinal) ? "mailoutbox"
                : row.RowKey);
        }

        return rows;
    }

    [Fact]
    public async Task Expired_sessions_and_stale_throttle_rows_go_and_live_rows_stay()
    {
        var old = await app.NewUserAsync("old");
        await app.LoginAsync(old.Email, "a wrong password for the throttle");
        var stranger = AccountsTestExtensions.UniqueEmail("stranger");
        await app.LoginAsync(stranger, "a guess on an email without an account");
        clock.Advance(TimeSpan.FromDays(10));
        var active = await app.NewUserAsync("active");
        await app.LoginAsync(active.Email, "a recent wrong password");
        var kept = SignedInUser.From(old.Email, (await app.LoginAsync(old.Email, AccountsTestExtensions.GoodPassword)).Json);
        clock.Advance(TimeSpan.FromDays(4) + TimeSpan.FromMinutes(1));

        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);

        // old: its signup session (14 days unused) goes; its throttle row was cleared by the login; its new session stays;
        // its verification token (24 hours) and mail limit row (an hour) go, and the unsent mail's outbox row with them.
        Assert.Equal(["account", "session"], (await RowKeysAsync(old.Email)).Order());
        Assert.Empty(await RowKeysAsync(stranger));
        // active: signed up 4 days ago; its throttle row is older than 15 minutes, so stale; its mail token and limit expired.
        Assert.Equal(["account", "session"], (await RowKeysAsync(active.Email)).Order());
        Assert.Equal(200, (await app.RefreshAsync(kept.RefreshToken)).Status);
        Assert.Equal(200, (await app.RefreshAsync(active.RefreshToken)).Status);
        Assert.True(report.Deleted >= 3, $"{report}");
        Assert.Equal(report.Scanned, report.Deleted);
        Assert.True(report.DeletedByKind["session"] >= 1 && report.DeletedByKind["login-throttle"] >= 2, string.Join(", ", report.DeletedByKind));
        Assert.True(report.DeletedByKind["mail-token"] >= 2 && report.DeletedByKind["mail-limit"] >= 2, string.Join(", ", report.DeletedByKind));
        Assert.True(report.DeletedByKind[ExpiredRowsCleanup.StuckOutbox.Kind] >= 2, string.Join(", ", report.DeletedByKind));
        Assert.Contains(app.Logs.Entries, entry => entry.Message.StartsWith("Cleanup removed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_session_at_its_absolute_end_goes_even_if_refreshed_lately()
    {
        var user = await app.NewUserAsync("absolute");
        var token = user.RefreshToken;
        for (var day = 0; day < 90; day += 10)
        {
            clock.Advance(TimeSpan.FromDays(10));
            var refreshed = await app.RefreshAsync(token);
            if (refreshed.Status != 200)
            {
                break;
            }

            token = refreshed.Json.GetProperty("refreshToken").GetString()!;
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        await cleanup.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["account"], (await RowKeysAsync(user.Email)).Order());
    }

    [Fact]
    public async Task Running_twice_is_harmless_and_the_second_run_finds_nothing_new()
    {
        var user = await app.NewUserAsync("twice");
        clock.Advance(TimeSpan.FromDays(15));
        await cleanup.RunAsync(TestContext.Current.CancellationToken);

        var second = await cleanup.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, second.Deleted);
        Assert.Equal(["account"], (await RowKeysAsync(user.Email)).Order());
        Assert.Equal(200, (await app.LoginAsync(user.Email)).Status);
    }

    [Fact]
    public async Task Two_runs_at_once_delete_each_row_once_and_fail_nothing()
    {
        var users = new List<SignedInUser>();
        for (var i = 0; i < 3; i++)
        {
            users.Add(await app.NewUserAsync("parallel"));
        }

        clock.Advance(TimeSpan.FromDays(15));

        var reports = await Task.WhenAll(
            Task.Run(() => cleanup.RunAsync(TestContext.Current.CancellationToken)),
            Task.Run(() => cleanup.RunAsync(TestContext.Current.CancellationToken)));

        foreach (var user in users)
        {
            Assert.Equal(["account"], (await RowKeysAsync(user.Email)).Order());
        }

        // Per user: the signup session, the verification token, the mail limit row and the unsent mail's outbox row.
        Assert.Equal(12, reports.Sum(report => report.Deleted));
    }

    [Fact]
    public async Task A_run_is_bounded_and_the_next_one_carries_on()
    {
        var users = new List<SignedInUser>();
        for (var i = 0; i < 5; i++)
        {
            users.Add(await app.NewUserAsync("bounded"));
        }

        clock.Advance(TimeSpan.FromDays(15));

        // 20 rows to go: per user the mail limit row, the unsent mail's outbox row, the verification token and the signup
        // session (in that RowKey order). A run finds 6; an outbox row it finds goes with its expired token, found or not:
        // the first run takes the second user's token that way, so 19 rows are found in all, over four runs.
        var runs = new List<CleanupReport>();
        for (var run = 0; run < 4; run++)
        {
            runs.Add(await cleanup.RunAsync(TestContext.Current.CancellationToken, maxRows: 6));
        }

        Assert.Equal([6, 6, 6, 1], runs.Select(report => report.Deleted));
        Assert.All(runs, report => Assert.InRange(report.Scanned, 0, 6));
        Assert.Equal([false, false, false, true], runs.Select(report => report.Complete));
        foreach (var user in users)
        {
            Assert.Equal(["account"], (await RowKeysAsync(user.Email)).Order());
        }
    }

    [Fact]
    public async Task A_session_refreshed_after_the_scan_is_kept()
    {
        var user = await app.NewUserAsync("raced");
        var store = app.Services.GetRequiredService<SessionStore>();
        var token = RefreshToken.TryParse(user.RefreshToken)!;
        var row = (await store.FindAsync(token.AccountKey, token.SessionId, TestContext.Current.CancellationToken))!;
        clock.Advance(TimeSpan.FromDays(15));
        // As if a refresh had landed between the cleanup's read and its delete: the row's ETag is no longer the one read.
        var scanned = new TableEntity(token.AccountKey, SessionStore.RowKeyOf(token.SessionId)) { ETag = row.ETag };
        Assert.True(await store.TryReplaceAsync(row with { ExpiresAt = row.ExpiresAt.AddDays(30), EndsAt = row.EndsAt.AddDays(30) }, TestContext.Current.CancellationToken));

        var table = app.Table(AppTables.Users);
        var refused = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
            [new TableTransactionAction(TableTransactionActionType.Delete, scanned, scanned.ETag)], TestContext.Current.CancellationToken));
        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(412, refused.Status);
        // Only the expired mail token and mail limit row go, and the unsent mail's outbox row; the session refreshed meanwhile stays.
        Assert.Equal(3, report.Deleted);
        Assert.False(report.DeletedByKind.ContainsKey("session"), string.Join(", ", report.DeletedByKind));
        Assert.Equal(["account", "session"], (await RowKeysAsync(user.Email)).Order());
    }

    [Fact]
    public async Task A_run_costs_the_scan_pages_plus_one_batch_per_partition_with_expired_rows()
    {
        for (var i = 0; i < 4; i++)
        {
            var user = await app.NewUserAsync("cost");
            await app.LoginAsync(user.Email);
        }

        clock.Advance(TimeSpan.FromDays(15));
        log.Reset();

        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);

        var requests = log.Requests;
        // Per partition: two sessions, the verification token and the mail limit row, then the unsent mail's outbox row.
        Assert.Equal(20, report.Deleted);
        Assert.Equal(4, report.Partitions);
        var scans = requests.Where(request => request.IsQuery).ToList();
        var batches = requests.Where(request => request.IsEntityGroupTransaction).ToList();
        var pointOperations = requests.Where(request => request.IsPointOperation).ToList();
        // One filtered scan of Users (the stuck outbox rows are one more "or" of its filter, not a scan of their own), one
        // range query of the passkey challenges' old partitions and one filtered scan of the Items table's key rows (none of either here).
        Assert.Equal(3, scans.Count);
        Assert.Single(scans, request => request.Path.Contains(AppTables.PasskeyChallenges, StringComparison.Ordinal));
        Assert.Single(scans, request => request.Path.Contains(AppTables.Items, StringComparison.Ordinal));
        // One batch per partition for the expired rows, and per stuck outbox row (one per partition here, rare outside
        // tests): a point read of it and of its token, the batch deleting it, and the point delete of its marker.
        Assert.Equal(4 + 4, batches.Count);
        Assert.Equal(4 * 2, pointOperations.Count(request => request.Method == "GET"));
        Assert.Equal(4, pointOperations.Count(request => request.Method == "DELETE" && request.Path.Contains(AppTables.Outbox, StringComparison.Ordinal)));
        Assert.Equal(scans.Count + batches.Count + pointOperations.Count, requests.Count);
        TestContext.Current.TestOutputHelper?.WriteLine($"cleanup of {report.Deleted} rows in {report.Partitions} partitions: {requests.Count} requests");
    }

    [Fact]
    public async Task Expired_passkey_challenges_go_by_whole_old_partitions_and_fresh_ones_stay_usable()
    {
        var user = await app.NewUserAsync("challenges");
        using var authenticator = new Passkeys.SoftwareAuthenticator();
        await Passkeys.PasskeyFlows.RegisterAsync(app, authenticator, user.AccessToken);
        for (var i = 0; i < 3; i++)
        {
            await Passkeys.PasskeyFlows.SignInOptionsAsync(app);
        }

        await Passkeys.PasskeyFlows.RegistrationOptionsAsync(app, user.AccessToken);
        clock.Advance(TimeSpan.FromMinutes(11));
        var fresh = await Passkeys.PasskeyFlows.SignInOptionsAsync(app);
        log.Reset();

        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);
        var requests = log.Requests;

        Assert.Equal(4, report.DeletedByKind[ExpiredRowsCleanup.ChallengeKind]);
        var left = await app.Table(AppTables.PasskeyChallenges).QueryAsync<TableEntity>(cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Single(left);
        // Found by one range query on PartitionKey (so it reads only old partitions), deleted by whole-partition batches.
        var query = Assert.Single(requests, request => request.IsQuery && request.Path.Contains(AppTables.PasskeyChallenges, StringComparison.Ordinal));
        Assert.StartsWith("PartitionKey le", query.Filter, StringComparison.Ordinal);
        Assert.InRange(requests.Count(request => request.IsEntityGroupTransaction), 1, 2);
        Assert.Equal(200, (await Passkeys.PasskeyFlows.SendSignInAsync(app, authenticator.Get(fresh, Passkeys.PasskeyFlows.Origin))).Status);
        Assert.False((await cleanup.RunAsync(TestContext.Current.CancellationToken)).DeletedByKind.ContainsKey(ExpiredRowsCleanup.ChallengeKind));
    }

    [Fact]
    public async Task Expired_idempotency_key_rows_go_their_items_stay_and_an_expired_key_creates_anew()
    {
        var user = await app.NewUserAsync("idemclean");
        Assert.Equal(201, (await CreateKeyedAsync(user, "old-1", "First")).Status);
        Assert.Equal(201, (await CreateKeyedAsync(user, "old-2", "Second")).Status);
        clock.Advance(TimeSpan.FromHours(25));
        // The access token has long expired: a day later the user logs in again.
        user = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);
        var fresh = await CreateKeyedAsync(user, "fresh", "Fresh");
        Assert.Equal(201, fresh.Status);
        log.Reset();

        var report = await cleanup.RunAsync(TestContext.Current.CancellationToken);
        var requests = log.Requests.ToList();

        Assert.Equal(2, report.DeletedByKind[ExpiredRowsCleanup.IdempotencyKeyKind]);
        var rows = await app.Table(AppTables.Items).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {user.Id}"),
            cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        var keyRows = rows.Where(row => row.RowKey.StartsWith("idem-", StringComparison.Ordinal)).Select(row => row.RowKey).ToList();
        Assert.Equal(["idem-" + System.Buffers.Text.Base64Url.EncodeToString("fresh"u8)], keyRows);
        Assert.Equal(3, rows.Count(row => row.RowKey is not ItemStore.MarkerRowKey && !row.RowKey.StartsWith("idem-", StringComparison.Ordinal)));
        // Found by a scan filtered on the key rows' RowKey range (a page per partition or 1,000 rows), so item rows never come back from it.
        var scans = requests.Where(request => request.IsQuery && request.Path.Contains(AppTables.Items, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(scans);
        Assert.All(scans, scan => Assert.Contains("RowKey gt 'idem-' and RowKey lt 'idem.'", scan.Filter, StringComparison.Ordinal));

        // The live key still answers with its item; an expired one, its row gone, creates a new item.
        var again = await CreateKeyedAsync(user, "fresh", "Fresh");
        Assert.Equal(201, again.Status);
        Assert.Equal(fresh.Header("Location"), again.Header("Location"));
        var reused = await CreateKeyedAsync(user, "old-1", "Another");
        Assert.Equal(201, reused.Status);
        Assert.NotEqual(fresh.Header("Location"), reused.Header("Location"));
        Assert.False((await cleanup.RunAsync(TestContext.Current.CancellationToken)).DeletedByKind.ContainsKey(ExpiredRowsCleanup.IdempotencyKeyKind));
    }

    private Task<TestResponse> CreateKeyedAsync(SignedInUser user, string key, string title) =>
        app.SendAsync("POST", "/api/items", System.Text.Json.JsonSerializer.Serialize(new { title }), "application/json", user.AccessToken,
            new Dictionary<string, string> { ["Idempotency-Key"] = key });
}
