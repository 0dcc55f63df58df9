using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Accounts;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Performance;

/// <summary>
/// Table Storage bills per transaction, so every API operation has a request budget (issue 8, DESIGN.md's cost target),
/// and no operation may scan a table or query across partitions. The figures are in docs/performance.md.
/// </summary>
public sealed class StorageCostTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private StorageRequestLog log = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: StorageRequestLog.AddTo);
        log = app.Services.GetRequiredService<StorageRequestLog>();
        // The tables are created once per process, before any operation measured here.
        Assert.Equal(200, (await app.GetAsync("/api/health")).Status);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<(TestResponse Response, IReadOnlyList<StorageRequest> Requests)> MeasureAsync(Func<Task<TestResponse>> operation)
    {
        log.Reset();
        var response = await operation();
        return (response, log.Requests);
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
    public async Task Signup_costs_three_requests_the_outbox_marker_the_account_batch_with_the_mail_and_the_session_insert()
    {
        var (response, requests) = await MeasureAsync(() => app.SignupAsync(AccountsTestExtensions.UniqueEmail("signup")));

        Assert.Equal(201, response.Status);
        // DESIGN.md: signup ≤ 3 with the verification mail's token. The mail itself goes out after the answer.
        Assert.Equal(3, requests.Count);
        Assert.True(requests[0].IsInsert && requests[0].Path.Contains("Outbox", StringComparison.Ordinal), requests[0].ToString());
        Assert.True(requests[1].IsBatch, requests[1].ToString());
        Assert.True(requests[2].IsInsert && requests[2].Path.Contains("RefreshTokens", StringComparison.Ordinal), requests[2].ToString());
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
        Assert.Equal(forAccount.Select(r => (r.Method, r.IsQuery, r.IsBatch)), forNobody.Select(r => (r.Method, r.IsQuery, r.IsBatch)));
        Assert.Equal(3, forAccount.Count);
        Assert.True(forAccount[0].IsSinglePartitionQuery, forAccount[0].ToString());
        Assert.True(forAccount[2].IsBatch, forAccount[2].ToString());
        AssertPartitionScoped([.. forAccount, .. forNobody]);
    }

    [Fact]
    public async Task A_clean_login_costs_two_requests_one_query_of_the_account_partition_and_the_session_insert()
    {
        var user = await app.NewUserAsync("login");

        var (response, requests) = await MeasureAsync(() => app.LoginAsync(user.Email));

        Assert.Equal(200, response.Status);
        Assert.Equal(2, requests.Count);
        // The account row and its throttle row share a partition of Users: one query reads both, before any hashing.
        Assert.True(requests[0].IsSinglePartitionQuery && requests[0].Path.Contains("Users", StringComparison.Ordinal), requests[0].ToString());
        Assert.True(requests[1].IsInsert && requests[1].Path.Contains("RefreshTokens", StringComparison.Ordinal), requests[1].ToString());
    }

    [Fact]
    public async Task A_failed_login_costs_two_requests_and_the_next_success_three_because_it_clears_the_count()
    {
        var user = await app.NewUserAsync("failure");

        var (failed, failure) = await MeasureAsync(() => app.LoginAsync(user.Email, "not the password at all"));
        var (succeeded, success) = await MeasureAsync(() => app.LoginAsync(user.Email));

        Assert.Equal(401, failed.Status);
        Assert.Equal(200, succeeded.Status);
        // The partition query, and the failure counted (the throttle row inserted beside the account's row).
        Assert.Equal(2, failure.Count);
        Assert.True(failure[1].IsInsert && failure[1].Path.Contains("Users", StringComparison.Ordinal), failure[1].ToString());
        // API.md: "A success resets the count": one conditional delete of the throttle row, within DESIGN.md's login ≤ 3.
        Assert.Equal(3, success.Count);
        Assert.Single(success, request => request.Method == "DELETE" && request.Path.Contains(LoginThrottleStore.RowKey, StringComparison.Ordinal));
        AssertPartitionScoped([.. failure, .. success]);
    }

    [Fact]
    public async Task A_throttled_login_costs_one_request()
    {
        var user = await app.NewUserAsync("throttled");
        for (var i = 0; i < LoginThrottle.MaxFailures; i++)
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
    public async Task Me_costs_one_point_read_and_logout_one_write()
    {
        var user = await app.NewUserAsync("me");

        var (me, meRequests) = await MeasureAsync(() => app.GetAsync("/api/me", user.AccessToken));
        var (logout, logoutRequests) = await MeasureAsync(() => app.PostJsonAsync("/api/auth/logout", new { refreshToken = user.RefreshToken }));

        Assert.Equal(200, me.Status);
        Assert.Equal(204, logout.Status);
        Assert.True(Assert.Single(meRequests).IsPointOperation);
        Assert.True(Assert.Single(logoutRequests).IsPointOperation);
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
        // The server returns one page of exactly the size asked for, whatever the partition holds.
        Assert.Contains("$top=2", list[0].Query, StringComparison.Ordinal);
        Assert.Contains("NextRowKey=", nextPage[0].Query, StringComparison.Ordinal);
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
        var crossPartition = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=PartitionKey eq 'u1' or PartitionKey eq 'u2'");
        var byOtherColumn = new StorageRequest("GET", "/devstoreaccount1/Items()", "?$filter=Title eq 'x'");

        Assert.True(point.IsPartitionScoped);
        Assert.True(insert.IsPartitionScoped);
        Assert.True(partitionQuery.IsPartitionScoped);
        Assert.False(scan.IsPartitionScoped);
        Assert.False(tableCreation.IsPartitionScoped);
        Assert.False(crossPartition.IsPartitionScoped);
        Assert.False(byOtherColumn.IsPartitionScoped);
    }
}
