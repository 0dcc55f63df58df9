using System.Diagnostics;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 2, storage faults: a private Azurite (data on disk) stopped in the middle of a run and started again on the
/// same port, while the same app instance keeps serving.
/// </summary>
[Collection(nameof(SerialReliability))]
public sealed class StorageOutageTests
{
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Every_endpoint_answers_503_with_retry_after_while_storage_is_down_and_works_again_after_restart()
    {
        await using var storage = await AzuriteServer.StartAsync(persistent: true);
        await using var app = TestApp.Create(storage.ConnectionString);
        var fixtures = await RouteFixtures.CreateAsync(app);
        var requests = RouteRequests.All(fixtures);
        var before = await StorageSnapshot.TakeAsync(app, storage.ConnectionString);

        await storage.StopAsync();
        var whileDown = await SendEachAsync(app, requests, fixtures.User.AccessToken);
        await storage.RestartAsync();
        var afterRestart = await StorageSnapshot.TakeAsync(app, storage.ConnectionString);
        var recovered = await SendEachAsync(app, requests, fixtures.User.AccessToken);

        foreach (var (request, response, elapsed) in whileDown)
        {
            if (!request.TouchesStorage)
            {
                Assert.True(response.Status == request.SuccessStatus, $"{request} -> {response}");
                continue;
            }

            Assert.True(response.Status == 503, $"{request} while storage was down -> {response}");
            Assert.True(elapsed < AnswerWithin, $"{request} took {elapsed.TotalSeconds:F1} s while storage was down");
            Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
            Assert.Equal("5", response.Header("Retry-After"));
            Assert.Equal(503, response.Json.GetProperty("status").GetInt32());
        }

        Assert.Empty(before.ChangesTo(afterRestart));
        Assert.All(recovered, exchange => Assert.True(exchange.Response.Status == exchange.Request.SuccessStatus,
            $"{exchange.Request} after the restart -> {exchange.Response}"));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"storage down: {whileDown.Count} requests, slowest {whileDown.Max(e => e.Elapsed).TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task An_app_that_starts_while_storage_is_down_serves_once_storage_is_back()
    {
        await using var storage = await AzuriteServer.StartAsync(persistent: true);
        await storage.StopAsync();
        await using var app = TestApp.Create(storage.ConnectionString);
        var email = AccountsTestExtensions.UniqueEmail("late");

        var clock = Stopwatch.StartNew();
        var signupWhileDown = await app.SignupAsync(email);
        var elapsed = clock.Elapsed;
        var healthWhileDown = await app.GetAsync("/api/health");
        await storage.RestartAsync();
        var signup = await app.SignupAsync(email);
        var user = SignedInUser.From(email, signup.Json);
        var created = await app.PostJsonAsync("/api/items", new { title = "After the outage" }, user.AccessToken);
        var list = await app.GetAsync("/api/items", user.AccessToken);

        Assert.Equal(503, signupWhileDown.Status);
        Assert.True(elapsed < AnswerWithin, $"took {elapsed}");
        Assert.Equal(503, healthWhileDown.Status);
        Assert.Equal(201, signup.Status);
        Assert.Equal(201, created.Status);
        Assert.Equal(1, list.Json.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_signup_cut_off_at_its_one_transaction_stores_nothing_and_its_retry_signs_up()
    {
        await using var storage = await AzuriteServer.StartAsync(persistent: true);
        await using var app = TestApp.Create(storage.ConnectionString, configureServices: services => StorageFaultPolicy.AddTo(services));
        var email = AccountsTestExtensions.UniqueEmail("cut");
        var key = app.AccountKey(email);
        app.Services.GetRequiredService<StorageFaultPolicy>().Inject(
            StorageFault.BeforeSend("POST", StorageFault.Batch, storage.StopAsync));

        var cut = await app.SignupAsync(email);
        await storage.RestartAsync();
        var rows = await CountAsync(app.Table(AppTables.Users), TableClient.CreateQueryFilter($"PartitionKey eq {key}"));
        var retry = await app.SignupAsync(email);
        var me = await app.GetAsync("/api/me", retry.Json.GetProperty("accessToken").GetString());

        Assert.Equal(503, cut.Status);
        // The account's row and its session are one entity-group transaction: neither or both.
        Assert.Equal(0, rows);
        Assert.Equal(201, retry.Status);
        Assert.Equal(200, me.Status);
        Assert.Equal(email, me.Json.GetProperty("email").GetString());
        // The account's row and its session (the mail rows ride in the same batch; the outbox row goes once the mail is sent).
        Assert.Equal(1, await CountAsync(app.Table(AppTables.Users), TableClient.CreateQueryFilter($"PartitionKey eq {key} and RowKey eq {key}")));
        Assert.Equal(1, await CountAsync(app.Table(AppTables.Users), TableClient.CreateQueryFilter($"PartitionKey eq {key} and RowKey ge {"session-"} and RowKey lt {"session."}")));
    }

    private static async Task<List<(RouteRequest Request, TestResponse Response, TimeSpan Elapsed)>> SendEachAsync(
        TestApp app, IReadOnlyList<RouteRequest> requests, string bearer)
    {
        var exchanges = new List<(RouteRequest, TestResponse, TimeSpan)>();
        foreach (var request in requests)
        {
            var clock = Stopwatch.StartNew();
            var response = await request.SendAsync(app, bearer);
            exchanges.Add((request, response, clock.Elapsed));
        }

        return exchanges;
    }

    private static async Task<int> CountAsync(TableClient table, string? filter)
    {
        var count = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey"], cancellationToken: TestContext.Current.CancellationToken))
        {
            count++;
        }

        return count;
    }
}
