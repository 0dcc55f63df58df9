using System.Text.Json;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Items;

public sealed class ItemsTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TestApp app = null!;
    private SignedInUser ada = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        ada = await app.NewUserAsync("ada");
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private Task<TestResponse> CreateAsync(SignedInUser user, object body) => app.PostJsonAsync("/api/items", body, user.AccessToken);

    private Task<TestResponse> PutAsync(SignedInUser user, string id, object body, string? ifMatch = null) =>
        app.SendAsync("PUT", "/api/items/" + id, JsonSerializer.Serialize(body), "application/json", user.AccessToken,
            ifMatch is null ? null : new Dictionary<string, string> { ["If-Match"] = ifMatch });

    private Task<TestResponse> DeleteAsync(SignedInUser user, string id, string? ifMatch = null) =>
        app.SendAsync("DELETE", "/api/items/" + id, bearer: user.AccessToken,
            headers: ifMatch is null ? null : new Dictionary<string, string> { ["If-Match"] = ifMatch });

    [Fact]
    public async Task Create_returns_201_with_location_etag_and_the_item()
    {
        var response = await CreateAsync(ada, new { title = "  Buy milk  ", description = "Two litres\nsemi-skimmed" });

        Assert.Equal(201, response.Status);
        var item = response.Json;
        var id = item.GetProperty("id").GetString()!;
        Assert.Equal("/api/items/" + id, response.Header("Location"));
        Assert.False(string.IsNullOrEmpty(response.Header("ETag")));
        Assert.Equal("Buy milk", item.GetProperty("title").GetString());
        Assert.Equal("Two litres\nsemi-skimmed", item.GetProperty("description").GetString());
        Assert.EndsWith("Z", item.GetProperty("createdAt").GetString(), StringComparison.Ordinal);
        Assert.Equal(item.GetProperty("createdAt").GetString(), item.GetProperty("updatedAt").GetString());
    }

    [Fact]
    public async Task Get_returns_the_item_with_its_etag()
    {
        var created = await CreateAsync(ada, new { title = "Read", description = (string?)null });
        var id = created.Json.GetProperty("id").GetString()!;

        var response = await app.GetAsync("/api/items/" + id, ada.AccessToken);

        Assert.Equal(200, response.Status);
        Assert.Equal(created.Header("ETag"), response.Header("ETag"));
        Assert.Equal(created.Body, response.Body);
        Assert.Equal(JsonValueKind.Null, response.Json.GetProperty("description").ValueKind);
    }

    [Fact]
    public async Task Put_replaces_title_and_description_and_returns_a_new_etag()
    {
        var created = await CreateAsync(ada, new { title = "Old", description = "old text" });
        var id = created.Json.GetProperty("id").GetString()!;

        var updated = await PutAsync(ada, id, new { title = "New" }, created.Header("ETag"));

        Assert.Equal(200, updated.Status);
        Assert.Equal("New", updated.Json.GetProperty("title").GetString());
        Assert.Equal(JsonValueKind.Null, updated.Json.GetProperty("description").ValueKind);
        Assert.Equal(created.Json.GetProperty("createdAt").GetString(), updated.Json.GetProperty("createdAt").GetString());
        Assert.NotEqual(created.Header("ETag"), updated.Header("ETag"));
        var read = await app.GetAsync("/api/items/" + id, ada.AccessToken);
        Assert.Equal(updated.Body, read.Body);
        Assert.Equal(updated.Header("ETag"), read.Header("ETag"));
    }

    [Fact]
    public async Task Put_and_delete_with_a_stale_etag_are_412_and_change_nothing()
    {
        var created = await CreateAsync(ada, new { title = "Original" });
        var id = created.Json.GetProperty("id").GetString()!;
        var stale = created.Header("ETag")!;
        Assert.Equal(200, (await PutAsync(ada, id, new { title = "Changed" }, stale)).Status);

        var put = await PutAsync(ada, id, new { title = "Lost update" }, stale);
        var delete = await DeleteAsync(ada, id, stale);
        var garbage = await PutAsync(ada, id, new { title = "Lost update" }, "\"not-an-etag\"");

        Assert.Equal(412, put.Status);
        Assert.Equal(412, delete.Status);
        Assert.Equal(412, garbage.Status);
        Assert.StartsWith("application/problem+json", put.ContentType, StringComparison.Ordinal);
        Assert.Equal("Changed", (await app.GetAsync("/api/items/" + id, ada.AccessToken)).Json.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Fifty_concurrent_puts_with_one_if_match_give_exactly_one_200()
    {
        var created = await CreateAsync(ada, new { title = "Contended" });
        var id = created.Json.GetProperty("id").GetString()!;
        var etag = created.Header("ETag")!;

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => PutAsync(ada, id, new { title = "Writer " + i }, etag))));

        Assert.Equal(1, responses.Count(r => r.Status == 200));
        Assert.Equal(49, responses.Count(r => r.Status == 412));
        var winner = responses.Single(r => r.Status == 200).Json.GetProperty("title").GetString();
        Assert.Equal(winner, (await app.GetAsync("/api/items/" + id, ada.AccessToken)).Json.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Delete_returns_204_then_404()
    {
        var created = await CreateAsync(ada, new { title = "Temporary" });
        var id = created.Json.GetProperty("id").GetString()!;

        var first = await DeleteAsync(ada, id, created.Header("ETag"));
        var second = await DeleteAsync(ada, id);

        Assert.Equal(204, first.Status);
        Assert.Equal(404, second.Status);
        Assert.Equal(404, (await app.GetAsync("/api/items/" + id, ada.AccessToken)).Status);
    }

    [Fact]
    public async Task Another_users_item_is_404_for_get_put_and_delete_and_stays_unchanged()
    {
        var grace = await app.NewUserAsync("grace");
        var created = await CreateAsync(ada, new { title = "Ada's", description = "private" });
        var id = created.Json.GetProperty("id").GetString()!;

        var get = await app.GetAsync("/api/items/" + id, grace.AccessToken);
        var put = await PutAsync(grace, id, new { title = "Grace was here" });
        var putWithEtag = await PutAsync(grace, id, new { title = "Grace was here" }, created.Header("ETag"));
        var delete = await DeleteAsync(grace, id);
        var list = await app.GetAsync("/api/items", grace.AccessToken);

        Assert.All([get, put, putWithEtag, delete], response => Assert.Equal(404, response.Status));
        Assert.Equal(0, list.Json.GetProperty("items").GetArrayLength());
        var mine = await app.GetAsync("/api/items/" + id, ada.AccessToken);
        Assert.Equal(created.Body, mine.Body);
        Assert.Equal(created.Header("ETag"), mine.Header("ETag"));
    }

    [Theory]
    [InlineData("does-not-exist")]
    [InlineData("0000000000000000000ffffffffffffffff")]
    [InlineData("x' or PartitionKey ne 'x")]
    [InlineData("..")]
    public async Task Unknown_or_malformed_ids_are_404(string id)
    {
        var response = await app.GetAsync("/api/items/" + Uri.EscapeDataString(id), ada.AccessToken);

        Assert.Equal(404, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"title":""}""", "title")]
    [InlineData("""{"title":"   "}""", "title")]
    [InlineData("""{"description":"no title"}""", "title")]
    [InlineData("""{"title":null}""", "title")]
    [InlineData("""{"title":42}""", "title")]
    [InlineData("""{"title":"ok","description":7}""", "description")]
    [InlineData("""{"title":"bell\u0007"}""", "title")]
    public async Task Invalid_bodies_are_400_naming_the_field(string body, string field)
    {
        var response = await app.SendAsync("POST", "/api/items", body, "application/json", ada.AccessToken);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
    }

    [Fact]
    public async Task Title_of_200_characters_and_description_of_2000_are_accepted_one_more_is_not()
    {
        Assert.Equal(201, (await CreateAsync(ada, new { title = new string('t', 200), description = new string('d', 2000) })).Status);
        Assert.Equal(400, (await CreateAsync(ada, new { title = new string('t', 201) })).Status);
        Assert.Equal(400, (await CreateAsync(ada, new { title = "t", description = new string('d', 2001) })).Status);
    }

    [Fact]
    public async Task Unknown_properties_are_ignored()
    {
        var response = await app.SendAsync("POST", "/api/items", """{"title":"t","id":"mine","owner":"someone","extra":{"a":1}}""", "application/json", ada.AccessToken);

        Assert.Equal(201, response.Status);
        Assert.NotEqual("mine", response.Json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Items_routes_need_a_token()
    {
        var responses = new[]
        {
            await app.GetAsync("/api/items"),
            await app.PostJsonAsync("/api/items", new { title = "t" }),
            await app.GetAsync("/api/items/0000000000000000000ffffffffffffffff"),
            await app.SendAsync("DELETE", "/api/items/0000000000000000000ffffffffffffffff"),
        };

        Assert.All(responses, response => Assert.Equal(401, response.Status));
    }

    [Fact]
    public async Task Ids_are_unique_even_for_items_created_at_once()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => CreateAsync(ada, new { title = "Item " + i }))));

        Assert.All(responses, response => Assert.Equal(201, response.Status));
        Assert.Equal(50, responses.Select(r => r.Json.GetProperty("id").GetString()).Distinct().Count());
    }
}
