using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 2, slow storage: requests that storage never answers must end in a 503 within 5 seconds, not hang; and a write
/// that landed but whose answer was lost (so the SDK sent it again) must neither be stored twice nor be reported as failed.
/// </summary>
[Collection(nameof(SerialReliability))]
public sealed class SlowStorageTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(5);
    private TestApp app = null!;
    private StorageFaultPolicy faults = null!;

    public ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: services => StorageFaultPolicy.AddTo(services));
        faults = app.Services.GetRequiredService<StorageFaultPolicy>();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    [Fact]
    public async Task Every_endpoint_answers_503_within_5_seconds_when_storage_stops_answering()
    {
        var fixtures = await RouteFixtures.CreateAsync(app);
        var before = await StorageSnapshot.TakeAsync(app, azurite.ConnectionString);

        faults.Inject(StorageFault.Unanswered());
        var exchanges = await Task.WhenAll(RouteRequests.All(fixtures).Select(async request =>
        {
            var clock = Stopwatch.StartNew();
            var response = await request.SendAsync(app, fixtures.User.AccessToken, TestContext.Current.CancellationToken);
            return (Request: request, Response: response, Elapsed: clock.Elapsed);
        }));
        faults.Clear();
        var after = await StorageSnapshot.TakeAsync(app, azurite.ConnectionString);

        foreach (var (request, response, elapsed) in exchanges)
        {
            var expected = request.TouchesStorage ? 503 : request.SuccessStatus;
            Assert.True(response.Status == expected, $"{request} with unanswered storage -> {response}");
            Assert.True(elapsed < AnswerWithin, $"{request} took {elapsed.TotalSeconds:F1} s with unanswered storage");
            if (expected == 503)
            {
                Assert.Equal("5", response.Header("Retry-After"));
            }
        }

        Assert.Empty(before.ChangesTo(after));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"unanswered storage: {exchanges.Length} requests, slowest {exchanges.Max(e => e.Elapsed).TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_stored_once()
    {
        var user = await app.NewUserAsync("lost-create");

        faults.Inject(StorageFault.LostResponse("POST", StorageFault.Batch));
        var created = await app.PostJsonAsync("/api/items", new { title = "Only once" }, user.AccessToken);
        faults.Clear();
        var list = await app.GetAsync("/api/items", user.AccessToken);

        Assert.Equal(201, created.Status);
        var stored = Assert.Single(list.Json.GetProperty("items").EnumerateArray());
        Assert.Equal(created.Json.GetProperty("id").GetString(), stored.GetProperty("id").GetString());
        Assert.Equal(created.Header("ETag"), (await app.GetAsync(created.Header("Location")!, user.AccessToken)).Header("ETag"));
    }

    [Fact]
    public async Task A_keyed_create_answered_503_after_it_landed_is_not_stored_twice_by_the_retry()
    {
        var user = await app.NewUserAsync("lost-keyed-create");
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };
        var body = JsonSerializer.Serialize(new { title = "Exactly once" });

        // Both tries of the SDK land and lose their answers: the client sees 503 although the item is stored.
        var fault = StorageFault.LostResponse("POST", StorageFault.Batch, times: 2);
        faults.Inject(fault);
        var lost = await app.SendAsync("POST", "/api/items", body, "application/json", user.AccessToken, key);
        faults.Clear();
        var retried = await app.SendAsync("POST", "/api/items", body, "application/json", user.AccessToken, key);
        var list = await app.GetAsync("/api/items", user.AccessToken);

        Assert.Equal(2, fault.Hits);
        Assert.True(lost.Status == 503, lost.ToString());
        Assert.True(retried.Status == 201, retried.ToString());
        var stored = Assert.Single(list.Json.GetProperty("items").EnumerateArray());
        Assert.Equal(retried.Json.GetProperty("id").GetString(), stored.GetProperty("id").GetString());
        Assert.Equal(retried.Header("ETag"), (await app.GetAsync(retried.Header("Location")!, user.AccessToken)).Header("ETag"));
    }

    [Fact]
    public async Task A_keyed_create_whose_first_answer_was_lost_is_answered_by_the_sdk_retry()
    {
        var user = await app.NewUserAsync("lost-keyed-once");
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };

        faults.Inject(StorageFault.LostResponse("POST", StorageFault.Batch));
        var created = await app.SendAsync("POST", "/api/items", JsonSerializer.Serialize(new { title = "Once" }), "application/json", user.AccessToken, key);
        faults.Clear();
        var list = await app.GetAsync("/api/items", user.AccessToken);

        Assert.True(created.Status == 201, created.ToString());
        var stored = Assert.Single(list.Json.GetProperty("items").EnumerateArray());
        Assert.Equal(created.Json.GetProperty("id").GetString(), stored.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_signup_whose_answer_was_lost_signs_up_instead_of_answering_409()
    {
        var email = AccountsTestExtensions.UniqueEmail("lost-signup");

        faults.Inject(StorageFault.LostResponse("POST", StorageFault.Batch));
        var signup = await app.SignupAsync(email);
        faults.Clear();

        Assert.True(signup.Status == 201, signup.ToString());
        Assert.Equal(200, (await app.GetAsync("/api/me", signup.Json.GetProperty("accessToken").GetString())).Status);
        Assert.Equal(200, (await app.LoginAsync(email)).Status);
    }

    [Fact]
    public async Task A_login_whose_session_batch_answer_was_lost_signs_in_once_and_clears_the_throttle()
    {
        var user = await app.NewUserAsync("lost-login-batch");

        // The batch lands (throttle row cleared, session stored) but its answer is lost: the SDK resends it, and the resend
        // fails on the clearing it already did. The session must still count as stored, not be refused or stored twice.
        var lost = StorageFault.LostResponse("POST", StorageFault.Batch);
        faults.Inject(lost);
        var login = await app.LoginAsync(user.Email);
        faults.Clear();

        Assert.Equal(1, lost.Hits);
        Assert.True(login.Status == 200, login.ToString());
        Assert.Equal(200, (await app.RefreshAsync(login.Json.GetProperty("refreshToken").GetString()!)).Status);
        var throttleRow = await app.Table(AppTables.Users).GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>(
            app.AccountKey(user.Email), Functions.Limits.LoginThrottleStore.RowKey, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(throttleRow.HasValue);
    }

    [Fact]
    public async Task A_login_whose_session_answer_was_lost_signs_in_instead_of_answering_500()
    {
        var user = await app.NewUserAsync("lost-session");

        faults.Inject(StorageFault.LostResponse("POST", AppTables.Users));
        var login = await app.LoginAsync(user.Email);
        faults.Clear();

        Assert.True(login.Status == 200, login.ToString());
        Assert.Equal(200, (await app.RefreshAsync(login.Json.GetProperty("refreshToken").GetString()!)).Status);
    }

    [Fact]
    public async Task A_refresh_whose_answer_was_lost_still_rotates()
    {
        var user = await app.NewUserAsync("lost-refresh");

        faults.Inject(StorageFault.LostResponse("PUT", AppTables.Users));
        var refreshed = await app.RefreshAsync(user.RefreshToken);
        faults.Clear();

        Assert.True(refreshed.Status == 200, refreshed.ToString());
        Assert.Equal(200, (await app.RefreshAsync(refreshed.Json.GetProperty("refreshToken").GetString()!)).Status);
    }

    [Fact]
    public async Task An_update_whose_answer_was_lost_is_not_reported_as_a_conflict()
    {
        var user = await app.NewUserAsync("lost-update");
        var created = await app.PostJsonAsync("/api/items", new { title = "Before" }, user.AccessToken);
        var path = created.Header("Location")!;

        faults.Inject(StorageFault.LostResponse("POST", StorageFault.Batch));
        var updated = await app.SendAsync("PUT", path, JsonSerializer.Serialize(new { title = "After" }), "application/json", user.AccessToken,
            RouteRequests.IfMatch(created.Header("ETag")!));
        faults.Clear();
        var read = await app.GetAsync(path, user.AccessToken);

        Assert.True(updated.Status == 200, updated.ToString());
        Assert.Equal("After", read.Json.GetProperty("title").GetString());
        Assert.Equal(read.Header("ETag"), updated.Header("ETag"));
    }
}
