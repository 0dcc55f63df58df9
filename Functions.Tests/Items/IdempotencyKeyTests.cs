using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Items;

/// <summary>
/// <c>Idempotency-Key</c> on <c>POST /api/items</c>: a repeated create answers with the item first created and stores
/// nothing more, per user, for 24 hours; the same key with another body is 422.
/// </summary>
public sealed class IdempotencyKeyTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private TestApp app = null!;
    private SignedInUser ada = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString, clock);
        ada = await app.NewUserAsync("idem");
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private Task<TestResponse> CreateAsync(SignedInUser user, object body, string? key) =>
        app.SendAsync("POST", "/api/items", JsonSerializer.Serialize(body), "application/json", user.AccessToken,
            key is null ? null : new Dictionary<string, string> { ["Idempotency-Key"] = key });

    private async Task<List<TableEntity>> RowsOfAsync(SignedInUser user) =>
        await app.Table(AppTables.Items).QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {user.Id} and RowKey ne {ItemStore.MarkerRowKey}")).ToListAsync();

    private async Task<int> ItemRowsOfAsync(SignedInUser user) =>
        (await RowsOfAsync(user)).Count(row => !row.RowKey.StartsWith("idem-", StringComparison.Ordinal));

    private static void AssertSameAnswer(TestResponse first, TestResponse again)
    {
        Assert.True(again.Status == 201, again.ToString());
        Assert.Equal(first.Header("Location"), again.Header("Location"));
        Assert.Equal(first.Header("ETag"), again.Header("ETag"));
        Assert.Equal(first.Body, again.Body);
    }

    [Fact]
    public async Task The_same_key_again_answers_with_the_first_item_and_stores_nothing_more()
    {
        var first = await CreateAsync(ada, new { title = "Once", description = "only" }, "key-1");
        var again = await CreateAsync(ada, new { title = "Once", description = "only" }, "key-1");

        Assert.Equal(201, first.Status);
        AssertSameAnswer(first, again);
        Assert.Equal(1, await ItemRowsOfAsync(ada));
    }

    [Fact]
    public async Task The_same_body_after_normalization_is_the_same_request()
    {
        var first = await CreateAsync(ada, new { title = "Milk", description = (string?)null }, "key-norm");
        var again = await CreateAsync(ada, new { title = "  Milk ", description = "" }, "key-norm");

        AssertSameAnswer(first, again);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_422_and_creates_nothing()
    {
        var first = await CreateAsync(ada, new { title = "Original" }, "key-2");
        var otherTitle = await CreateAsync(ada, new { title = "Different" }, "key-2");
        var otherDescription = await CreateAsync(ada, new { title = "Original", description = "extra" }, "key-2");

        Assert.Equal(201, first.Status);
        foreach (var refused in new[] { otherTitle, otherDescription })
        {
            Assert.True(refused.Status == 422, refused.ToString());
            Assert.StartsWith("application/problem+json", refused.ContentType, StringComparison.Ordinal);
            Assert.EndsWith("/idempotency-key-reused", refused.Json.GetProperty("type").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, await ItemRowsOfAsync(ada));
    }

    [Fact]
    public async Task Another_users_same_key_creates_their_own_item_and_never_sees_the_first()
    {
        var bob = await app.NewUserAsync("idem-bob");
        var adas = await CreateAsync(ada, new { title = "Ada's secret" }, "shared-key");

        // Bob guesses Ada's key, with her body and with his own: he only ever gets items of his own.
        var sameBody = await CreateAsync(bob, new { title = "Ada's secret" }, "shared-key");
        var otherBody = await CreateAsync(bob, new { title = "Bob's" }, "shared-key");

        Assert.Equal(201, sameBody.Status);
        Assert.NotEqual(adas.Json.GetProperty("id").GetString(), sameBody.Json.GetProperty("id").GetString());
        Assert.Equal(422, otherBody.Status);
        Assert.Equal(1, await ItemRowsOfAsync(ada));
        Assert.Equal(1, await ItemRowsOfAsync(bob));
        Assert.Equal(404, (await app.GetAsync(adas.Header("Location")!, bob.AccessToken)).Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("tab\there")]
    [InlineData("caf\u00e9")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")]
    public async Task A_malformed_key_is_400_naming_the_header_and_creates_nothing(string key)
    {
        var response = await CreateAsync(ada, new { title = "Never" }, key);

        Assert.True(response.Status == 400, response.ToString());
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("Idempotency-Key", out _), response.Body);
        Assert.Equal(0, await ItemRowsOfAsync(ada));
    }

    [Fact]
    public async Task Two_key_headers_are_400_not_the_first_one()
    {
        // Two header lines reach the function as one StringValues with two entries.
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/api/items";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream("""{"title":"Twice"}"""u8.ToArray());
        context.Request.Headers.Authorization = "Bearer " + ada.AccessToken;
        context.Request.Headers["Idempotency-Key"] = new StringValues(["first", "second"]);
        context.Response.Body = new MemoryStream();

        await app.DispatchAsync(context);

        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal(0, await ItemRowsOfAsync(ada));
    }

    [Fact]
    public async Task Every_visible_character_is_a_valid_key_including_those_a_row_key_forbids()
    {
        const string key = "/\\#?!\"$%&'()*+,-.:;<=>@[]^_`{|}~0123456789abcdefghijABCDEFGHIJxy";
        Assert.Equal(64, key.Length);

        var first = await CreateAsync(ada, new { title = "Odd key" }, key);
        var again = await CreateAsync(ada, new { title = "Odd key" }, key);

        Assert.Equal(201, first.Status);
        AssertSameAnswer(first, again);
    }

    [Fact]
    public async Task Twenty_parallel_creates_with_one_key_store_one_item_and_answer_alike()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => CreateAsync(ada, new { title = "Raced" }, "race-key"))));

        Assert.All(responses, response => AssertSameAnswer(responses[0], response));
        Assert.Equal(1, await ItemRowsOfAsync(ada));
        Assert.Single(await RowsOfAsync(ada), row => row.RowKey.StartsWith("idem-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_key_is_forgotten_after_24_hours()
    {
        var first = await CreateAsync(ada, new { title = "Day one" }, "daily");
        clock.Advance(ItemService.IdempotencyKeyLifetime - TimeSpan.FromMinutes(1));
        var user = await FreshTokenAsync();
        var stillKnown = await CreateAsync(user, new { title = "Day one" }, "daily");
        clock.Advance(TimeSpan.FromMinutes(2));
        user = await FreshTokenAsync();
        var afterExpiry = await CreateAsync(user, new { title = "Day two" }, "daily");
        var replayOfNew = await CreateAsync(user, new { title = "Day two" }, "daily");

        AssertSameAnswer(first, stillKnown);
        Assert.Equal(201, afterExpiry.Status);
        Assert.NotEqual(first.Json.GetProperty("id").GetString(), afterExpiry.Json.GetProperty("id").GetString());
        AssertSameAnswer(afterExpiry, replayOfNew);
        Assert.Equal(2, await ItemRowsOfAsync(ada));
        Assert.Single(await RowsOfAsync(ada), row => row.RowKey.StartsWith("idem-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Key_rows_never_appear_in_the_item_list()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(201, (await CreateAsync(ada, new { title = "Keyed " + i }, "list-" + i)).Status);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await app.GetAsync("/api/items?limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), ada.AccessToken);
            seen.AddRange(page.Json.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("title").GetString()!));
            cursor = page.Json.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(["Keyed 2", "Keyed 1", "Keyed 0"], seen);
        Assert.Equal(6, (await RowsOfAsync(ada)).Count);
    }

    [Fact]
    public async Task The_key_of_a_deleted_item_answers_404_and_creates_nothing()
    {
        var first = await CreateAsync(ada, new { title = "Short-lived" }, "gone");
        Assert.Equal(204, (await app.SendAsync("DELETE", first.Header("Location")!, bearer: ada.AccessToken)).Status);

        var again = await CreateAsync(ada, new { title = "Short-lived" }, "gone");

        Assert.True(again.Status == 404, again.ToString());
        Assert.Equal(0, await ItemRowsOfAsync(ada));
    }

    private async Task<SignedInUser> FreshTokenAsync()
    {
        var login = await app.LoginAsync(ada.Email);
        Assert.True(login.Status == 200, login.ToString());
        return SignedInUser.From(ada.Email, login.Json);
    }
}
