using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Items;

/// <summary>Table Storage bills per transaction: each items operation must cost exactly one request.</summary>
public sealed class StorageTransactionTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private StorageRequestCounter counter = null!;
    private SignedInUser user = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, configureServices: StorageRequestCounter.AddTo);
        counter = app.Services.GetRequiredService<StorageRequestCounter>();
        user = await app.NewUserAsync();
        await app.GetAsync("/api/health"); // tables are created once per process, before the operations measured here
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<(TestResponse Response, int Requests)> MeasureAsync(Func<Task<TestResponse>> operation)
    {
        counter.Reset();
        var response = await operation();
        return (response, counter.Count);
    }

    [Fact]
    public async Task Every_items_operation_costs_one_storage_request()
    {
        var (created, create) = await MeasureAsync(() => app.PostJsonAsync("/api/items", new { title = "Counted" }, user.AccessToken));
        var id = created.Json.GetProperty("id").GetString()!;
        var etag = created.Header("ETag")!;
        var (_, get) = await MeasureAsync(() => app.GetAsync("/api/items/" + id, user.AccessToken));
        var (updated, update) = await MeasureAsync(() => app.SendAsync("PUT", "/api/items/" + id,
            JsonSerializer.Serialize(new { title = "Recounted" }), "application/json", user.AccessToken, new Dictionary<string, string> { ["If-Match"] = etag }));
        var (_, list) = await MeasureAsync(() => app.GetAsync("/api/items?limit=10", user.AccessToken));
        var (deleted, delete) = await MeasureAsync(() => app.SendAsync("DELETE", "/api/items/" + id, bearer: user.AccessToken,
            headers: new Dictionary<string, string> { ["If-Match"] = updated.Header("ETag")! }));

        Assert.Equal(201, created.Status);
        Assert.Equal(204, deleted.Status);
        Assert.Equal(new[] { 1, 1, 1, 1, 1 }, new[] { create, get, update, list, delete });
    }

    [Fact]
    public async Task A_keyed_create_costs_one_storage_request_and_its_replay_three()
    {
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };
        var body = JsonSerializer.Serialize(new { title = "Keyed" });

        var (created, create) = await MeasureAsync(() => app.SendAsync("POST", "/api/items", body, "application/json", user.AccessToken, key));
        var (replayed, replay) = await MeasureAsync(() => app.SendAsync("POST", "/api/items", body, "application/json", user.AccessToken, key));

        Assert.Equal(201, created.Status);
        Assert.Equal(201, replayed.Status);
        Assert.Equal(1, create);
        Assert.Contains("$batch", counter.Requests[0], StringComparison.Ordinal);
        Assert.Equal(3, replay);
    }

    [Fact]
    public async Task The_counter_sees_the_apps_requests()
    {
        var (_, requests) = await MeasureAsync(() => app.GetAsync("/api/health"));

        Assert.Equal(1, requests);
        Assert.Contains(counter.Requests, request => request.StartsWith("GET", StringComparison.Ordinal));
    }
}
