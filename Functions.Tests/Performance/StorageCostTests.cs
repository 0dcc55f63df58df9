// Over ~300 lines on purpose: every operation's exact request count stands beside the others, so a changed budget
// shows in one file (the passkey ceremonies' counts are in StorageCostTests.Passkeys.cs).
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Performance;

/// <summary>
/// Table Storage bills per transaction, so every API operation has a request budget (issue 8; the budgets are in docs/performance.md),
/// and no operation may scan a table or query across partitions. The figures are in docs/performance.md.
/// </summary>
public sealed partial class StorageCostTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly HeldMailSender mailSender = new();
    private TestApp app = null!;
    private StorageRequestLog log = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services =>
        {
            StorageRequestLog.AddTo(services);
            services.AddSingleton<IMailSender>(mailSender);
        });
        log = app.Services.GetRequiredService<StorageRequestLog>();
        // The tables are created once per process, before any operation measured here.
        Assert.Equal(200, (await app.GetAsync("/api/health")).Status);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    /// <summary>
    /// The requests of the operation up to its answer; what it sends after the answer (a mail) waits until they are
    /// counted, then runs, and is in <see cref="log"/> after them when this returns.
    /// </summary>
    private async Task<(TestResponse Response, IReadOnlyList<StorageRequest> Requests)> MeasureAsync(Func<Task<TestResponse>> operation)
    {
        mailSender.Hold();
        log.Reset();
        var response = await operation();
        var requests = log.Requests;
        mailSender.Release();
        await app.Services.GetRequiredService<MailDelivery>().WhenIdleAsync();
        return (response, requests);
    }

    /// <summary>Fails every send, as the tests' SMTP port without a server does, but not before the test releases it.</summary>
    private sealed class HeldMailSender : IMailSender
    {
        private volatile TaskCompletionSource release = Released();

        public void Hold() => release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => release.TrySetResult();

        public async Task SendAsync(MailMessage message, CancellationToken cancellationToken)
        {
            await release.Task.WaitAsync(cancellationToken);
            throw new IOException("No mail server in these tests.");
        }

        private static TaskCompletionSource Released()
        {
            var released = new TaskCompletionSource();
            released.SetResult();
            return released;
        }
    }

    private static void AssertPartitionScoped(IEnumerable<StorageRequest> requests)
    {
        foreach (var request in requests)
        {
            Assert.True(request.IsPartitionScoped, $"Not a point operation, insert or single-partition query: {request}");
        }
    }

    [Fact]
    public async Task Health_costs_one_point_read()
    {
        var (response, requests) = await MeasureAsync(() => app.GetAsync("/api/health"));

        Assert.Equal(200, response.Status);
        var read = Assert.Single(requests);
        Assert.True(read.IsPointOperation, read.ToString());
    }

    [Fact]
    public async Task Signup_costs_three_requests_the_address_count_the_owner_marker_and_one_batch_of_the_account_its_session_and_mail()
    {
        var (response, requests) = await MeasureAsync(() => app.SignupAsync(AccountsTestExtensions.UniqueEmail("signup")));

        Assert.Equal(201, response.Status);
        // Three, the budget with the verification mail (docs/performance.md): the mail's Outbox marker is not written
        // up front; the send after the answer writes it only when it fails, and the hourly recovery for a row whose
        // process died first (MailOutboxTests).
        Assert.Equal(3, requests.Count);
        Assert.DoesNotContain(requests, request => request.Path.Contains(AppTables.Outbox, StringComparison.Ordinal));
        // The client address's signup count (insert, or a conditional replace when this instance has seen the address).
        Assert.True(requests[0].Path.Contains(AppTables.ClientLimits, StringComparison.Ordinal) && requests[0].Method is "POST" or "PUT", requests[0].ToString());
        // The marker before the account: an account row never exists without the marker its items need.
        Assert.True(requests[1].IsInsert, requests[1].ToString());
        Assert.EndsWith(AppTables.Items, requests[1].Resource, StringComparison.Ordinal);
        // The account, its session and the mail's token, outbox and limit rows in one batch. The mail goes out after the answer.
        Assert.True(requests[2].IsEntityGroupTransaction, requests[2].ToString());
        // After the answer the send fails (no mail server here), and the marker the drainer needs is written then: one insert.
        var afterAnswer = Assert.Single(log.Requests.Skip(requests.Count));
        Assert.True(afterAnswer.IsInsert && afterAnswer.Resource.EndsWith(AppTables.Outbox, StringComparison.Ordinal), afterAnswer.ToString());
    }

    [Fact]
    public async Task A_reset_request_costs_the_same_three_requests_for_an_account_and_for_an_unknown_email()
    {
        var user = await app.NewUserAsync("reset");

        var (known, forAccount) = await MeasureAsync(() => app.PostJsonAsync("/api/auth/password-reset", new { email = user.Email }));
        var (unknown, forNobody) = await MeasureAsync(() => app.PostJsonAsync("/api/auth/password-reset", new { email = AccountsTestExtensions.UniqueEmail("nobody") }));

        Assert.Equal(202, known.Status);
        Assert.Equal(202, unknown.Status);
        // One query of the account's partition (account and limit rows), the outbox marker, one batch.
        Assert.Equal(forAccount.Select(r => (r.Method, r.IsQuery, r.IsEntityGroupTransaction)), forNobody.Select(r => (r.Method, r.IsQuery, r.IsEntityGroupTransaction)));
        Assert.Equal(3, forAccount.Count);
        Assert.True(forAccount[0].IsSinglePartitionQuery, forAccount[0].ToString());
        Assert.True(forAccount[2].IsEntityGroupTransaction, forAccount[2].ToString());
        AssertPartitionScoped([.. forAccount, .. forNobody]);
    }

    [Fact]
    public async Task A_clean_login_costs_three_requests_the_query_the_reservation_and_one_batch_clearing_it_with_the_session()
    {
        var user = await app.NewUserAsync("login");

        var (response, requests) = await MeasureAsync(() => app.LoginAsync(user.Email));

        Assert.Equal(200, response.Status);
        Assert.Equal(3, requests.Count);
        // The account row and its throttle row share a partition of Users: one query reads both, before any hashing.
        Assert.True(requests[0].IsSinglePartitionQuery && requests[0].Path.Contains("Users", StringComparison.Ordinal), requests[0].ToString());
        // The attempt is reserved (the throttle row inserted) before the password is checked.
        Assert.True(requests[1].IsInsert && requests[1].Path.Contains("Users", StringComparison.Ordinal), requests[1].ToString());
        // After the success, the reservation's clearing and the new session are one entity-group batch.
        Assert.True(requests[2].IsEntityGroupTransaction, requests[2].ToString());
        AssertPartitionScoped(requests);
    }

    [Fact]
    public async Task A_failed_login_costs_three_requests_and_the_next_success_three()
    {
        var user = await app.NewUserAsync("failure");

        var (failed, failure) = await MeasureAsync(() => app.LoginAsync(user.Email, "not the password at all"));
        var (succeeded, success) = await MeasureAsync(() => app.LoginAsync(user.Email));

        Assert.Equal(401, failed.Status);
        Assert.Equal(200, succeeded.Status);
        // The partition query, the attempt reserved (the throttle row inserted beside the account's row), and the failure
        // counted against the client address (docs/api.md's per-client limit).
        Assert.Equal(3, failure.Count);
        Assert.True(failure[1].IsInsert && failure[1].Path.Contains("Users", StringComparison.Ordinal), failure[1].ToString());
        Assert.Contains(AppTables.ClientLimits, failure[2].Path, StringComparison.Ordinal);
        // The query, the reservation (a conditional replace), and one batch: the clearing (docs/api.md: "A success resets the
        // count") with the session.
        Assert.Equal(3, success.Count);
        Assert.Equal("PUT", success[1].Method);
        Assert.True(success[2].IsEntityGroupTransaction, success[2].ToString());
        AssertPartitionScoped([.. failure, .. success]);
    }

    [Fact]
    public async Task A_throttled_login_costs_one_request()
    {
        var user = await app.NewUserAsync("throttled");
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            Assert.Equal(401, (await app.LoginAsync(user.Email, $"wrong password number {i}")).Status);
        }

        var (response, requests) = await MeasureAsync(() => app.LoginAsync(user.Email));

        Assert.Equal(429, response.Status);
        Assert.True(Assert.Single(requests).IsSinglePartitionQuery);
    }

    [Fact]
    public async Task Refresh_costs_a_point_read_and_one_conditional_write()
    {
        var user = await app.NewUserAsync("refresh");

        var (response, requests) = await MeasureAsync(() => app.RefreshAsync(user.RefreshToken));

        Assert.Equal(200, response.Status);
        Assert.Equal(2, requests.Count);
        Assert.Equal("GET", requests[0].Method);
        Assert.Equal("PUT", requests[1].Method);
        AssertPartitionScoped(requests);
    }

    [Fact]
    public async Task Me_costs_one_point_read_and_logout_a_point_read_and_a_delete()
    {
        var user = await app.NewUserAsync("me");

        var (me, meRequests) = await MeasureAsync(() => app.GetAsync("/api/me", user.AccessToken));
        var (logout, logoutRequests) = await MeasureAsync(() => app.PostJsonAsync("/api/auth/logout", new { refreshToken = user.RefreshToken }));

        Assert.Equal(200, me.Status);
        Assert.Equal(204, logout.Status);
        Assert.True(Assert.Single(meRequests).IsPointOperation);
        // The read checks the token's secret (a session id alone ends nothing), then the delete.
        Assert.Equal(["GET", "DELETE"], logoutRequests.Select(request => request.Method));
        Assert.All(logoutRequests, request => Assert.True(request.IsPointOperation, request.ToString()));
    }

    [Fact]
    public async Task A_repeated_refresh_within_the_grace_costs_one_point_read()
    {
        var user = await app.NewUserAsync("grace");
        Assert.Equal(200, (await app.RefreshAsync(user.RefreshToken)).Status);

        var (response, requests) = await MeasureAsync(() => app.RefreshAsync(user.RefreshToken));

        Assert.Equal(200, response.Status);
        Assert.True(Assert.Single(requests).IsPointOperation, requests[0].ToString());
    }

    [Fact]
    public async Task Listing_sessions_costs_one_query_and_ending_one_a_delete()
    {
        var user = await app.NewUserAsync("sessions");
        await app.LoginAsync(user.Email);

        var (list, listRequests) = await MeasureAsync(() => app.GetAsync("/api/me/sessions", user.AccessToken));
        var id = list.Json.GetProperty("sessions")[0].GetProperty("id").GetString();
        var (end, endRequests) = await MeasureAsync(() => app.SendAsync("DELETE", "/api/me/sessions/" + id, bearer: user.AccessToken));

        Assert.Equal(200, list.Status);
        Assert.Equal(204, end.Status);
        Assert.True(Assert.Single(listRequests).IsSinglePartitionQuery, listRequests[0].ToString());
        Assert.True(Assert.Single(endRequests).IsPointOperation, endRequests[0].ToString());
    }

    [Fact]
    public async Task Signing_out_everywhere_costs_one_query_and_one_batch_per_100_sessions()
    {
        var user = await app.NewUserAsync("everywhere");
        for (var i = 0; i < 3; i++)
        {
            await app.LoginAsync(user.Email);
        }

        var (response, requests) = await MeasureAsync(() => app.SendAsync("DELETE", "/api/me/sessions", bearer: user.AccessToken));

        Assert.Equal(204, response.Status);
        Assert.Equal(2, requests.Count);
        Assert.True(requests[0].IsSinglePartitionQuery, requests[0].ToString());
        Assert.True(requests[1].IsEntityGroupTransaction, requests[1].ToString());
    }

    [Fact]
    public async Task A_password_change_costs_five_transactions_and_a_wrong_current_password_two()
    {
        var user = await app.NewUserAsync("password");
        await app.LoginAsync(user.Email);
        var wrong = System.Text.Json.JsonSerializer.Serialize(new { currentPassword = "not the password at all", newPassword = "a new passphrase for the count" });
        var right = System.Text.Json.JsonSerializer.Serialize(new { currentPassword = AccountsTestExtensions.GoodPassword, newPassword = "a new passphrase for the count" });

        var (refused, refusedRequests) = await MeasureAsync(() => app.SendAsync("PUT", "/api/me/password", wrong, "application/json", user.AccessToken));
        var (changed, changedRequests) = await MeasureAsync(() => app.SendAsync("PUT", "/api/me/password", right, "application/json", user.AccessToken));

        Assert.Equal(400, refused.Status);
        Assert.Equal(200, changed.Status);
        // The account's partition (account and throttle rows), then the attempt reserved before hashing.
        Assert.Equal(2, refusedRequests.Count);
        // As a login checks a password (query, reservation, clear), then the session rows, and one batch: the new hash,
        // every session ended, the new session.
        Assert.Equal(5, changedRequests.Count);
        Assert.True(changedRequests[4].IsEntityGroupTransaction, changedRequests[4].ToString());
        AssertPartitionScoped([.. refusedRequests, .. changedRequests]);
    }

    [Fact]
    public async Task Every_items_operation_costs_one_request_inside_the_callers_partition()
    {
        var user = await app.NewUserAsync("items");
        for (var i = 0; i < 3; i++)
        {
            await app.PostJsonAsync("/api/items", new { title = "Filler " + i }, user.AccessToken);
        }

        var (created, create) = await MeasureAsync(() => app.PostJsonAsync("/api/items", new { title = "Counted" }, user.AccessToken));
        var id = created.Json.GetProperty("id").GetString()!;
        var (_, get) = await MeasureAsync(() => app.GetAsync("/api/items/" + id, user.AccessToken));
        var (updated, update) = await MeasureAsync(() => app.SendAsync("PUT", "/api/items/" + id,
            JsonSerializer.Serialize(new { title = "Recounted" }), "application/json", user.AccessToken,
            new Dictionary<string, string> { ["If-Match"] = created.Header("ETag")! }));
        var (firstPage, list) = await MeasureAsync(() => app.GetAsync("/api/items?limit=2", user.AccessToken));
        var cursor = firstPage.Json.GetProperty("nextCursor").GetString()!;
        var (_, nextPage) = await MeasureAsync(() => app.GetAsync("/api/items?limit=2&cursor=" + Uri.EscapeDataString(cursor), user.AccessToken));
        var (deleted, delete) = await MeasureAsync(() => app.SendAsync("DELETE", "/api/items/" + id, bearer: user.AccessToken,
            headers: new Dictionary<string, string> { ["If-Match"] = updated.Header("ETag")! }));

        Assert.Equal(201, created.Status);
        Assert.Equal(204, deleted.Status);
        Assert.Equal(new[] { 1, 1, 1, 1, 1, 1 }, new[] { create.Count, get.Count, update.Count, list.Count, nextPage.Count, delete.Count });
        Assert.True(list[0].IsSinglePartitionQuery, list[0].ToString());
        Assert.True(nextPage[0].IsSinglePartitionQuery, nextPage[0].ToString());
        Assert.Contains(user.Id, list[0].Filter!, StringComparison.Ordinal);
        // The server returns one page of the size asked for, whatever the partition holds: the owner marker (sorted first),
        // the items and one more to tell whether another page follows; the next page starts after the last item shown.
        Assert.Contains("$top=4", list[0].Query, StringComparison.Ordinal);
        Assert.Contains("RowKey eq '" + ItemStore.MarkerRowKey + "' or (RowKey gt '", nextPage[0].Filter!, StringComparison.Ordinal);
        Assert.True(create[0].IsEntityGroupTransaction && update[0].IsEntityGroupTransaction && delete[0].IsEntityGroupTransaction, $"{create[0]} {update[0]} {delete[0]}");
        AssertPartitionScoped([.. create, .. get, .. update, .. list, .. nextPage, .. delete]);
    }

    [Fact]
    public async Task No_operation_scans_a_table_or_queries_across_partitions()
    {
        var user = await app.NewUserAsync("everything");
        log.Reset();
        await app.LoginAsync(user.Email, "a wrong password for the throttle");
        var session = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);
        var refreshed = await app.RefreshAsync(session.RefreshToken);
        await app.RefreshAsync(session.RefreshToken); // reuse of a rotated token: the revocation path
        await app.GetAsync("/api/me", session.AccessToken);
        var created = await app.PostJsonAsync("/api/items", new { title = "Scan check" }, session.AccessToken);
        await app.GetAsync("/api/items", session.AccessToken);
        await app.GetAsync("/api/items/" + created.Json.GetProperty("id").GetString(), session.AccessToken);
        await app.PostJsonAsync("/api/auth/logout", new { refreshToken = refreshed.Json.GetProperty("refreshToken").GetString() });
        var other = SignedInUser.From(user.Email, (await app.LoginAsync(user.Email)).Json);
        var sessions = await app.GetAsync("/api/me/sessions", other.AccessToken);
        await app.SendAsync("DELETE", "/api/me/sessions/" + sessions.Json.GetProperty("sessions")[0].GetProperty("id").GetString(), bearer: other.AccessToken);
        await app.SendAsync("PUT", "/api/me/password", System.Text.Json.JsonSerializer.Serialize(new
        {
            currentPassword = AccountsTestExtensions.GoodPassword,
            newPassword = "a new passphrase for the scan check",
        }), "application/json", other.AccessToken);
        await app.SendAsync("DELETE", "/api/me/sessions", bearer: other.AccessToken);
        await app.GetAsync("/api/health");

        var requests = log.Requests;
        Assert.NotEmpty(requests);
        Assert.DoesNotContain(requests, request => request.IsTableService);
        AssertPartitionScoped(requests);
    }

    [Fact]
    public void The_request_shapes_are_told_apart()
    {
        var point = new StorageRequest("GET", "/devstoreaccount1/Users(PartitionKey='a',RowKey='a')", "");
        var insert = new StorageRequest("POST", "/devstoreaccount1/Items", "");
        var partitionQuery = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$top=20&$filter=PartitionKey eq 'u1'&$select=RowKey");
        var scan = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$top=20");
        var tableCreation = new StorageRequest("POST", "devstoreaccount1/Tables", "");
        var batch = new StorageRequest("POST", "/devstoreaccount1/$batch", "");
        var crossPartition = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' or PartitionKey eq 'u2'");
        var markerOrItem = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' and (RowKey eq '!owner' or RowKey eq 'i')");
        var orOutsideTheGroup = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' and (RowKey eq 'a') or (RowKey eq 'b')");
        var orWithoutGroup = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' and RowKey eq 'a' or RowKey eq 'b'");
        var otherPartitionInGroup = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' and (RowKey eq 'a' or PartitionKey eq 'u2')");
        var markerOrItemRange = new StorageRequest("GET", "/devstoreaccount1/Items()",
            "?$filter=PartitionKey eq 'u1' and (RowKey eq '!owner' or (RowKey gt '0' and RowKey lt ':'))");
        var byOtherColumn = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=Title eq 'x'");

        Assert.True(point.IsPartitionScoped);
        Assert.True(insert.IsPartitionScoped);
        Assert.True(partitionQuery.IsPartitionScoped);
        Assert.True(batch.IsPartitionScoped);
        Assert.False(scan.IsPartitionScoped);
        Assert.False(tableCreation.IsPartitionScoped);
        Assert.False(crossPartition.IsPartitionScoped);
        Assert.False(byOtherColumn.IsPartitionScoped);
        Assert.True(markerOrItem.IsPartitionScoped);
        Assert.False(orOutsideTheGroup.IsPartitionScoped);
        Assert.False(orWithoutGroup.IsPartitionScoped);
        Assert.False(otherPartitionInGroup.IsPartitionScoped);
        Assert.True(markerOrItemRange.IsPartitionScoped);
    }
}
