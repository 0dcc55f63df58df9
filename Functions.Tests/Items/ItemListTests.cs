using Azure.Data.Tables;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Items;

public sealed class ItemListTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int ItemCount = 250;
    private TestApp app = null!;
    private SignedInUser owner = null!;
    private List<string> createdIds = null!;

    public async ValueTask InitializeAsync()
    {
        app = TestApp.Create(azurite.ConnectionString);
        owner = await app.NewUserAsync("lister");
        createdIds = [];
        for (var i = 0; i < ItemCount; i++)
        {
            var response = await app.PostJsonAsync("/api/items", new { title = "Item " + i }, owner.AccessToken);
            createdIds.Add(response.Json.GetProperty("id").GetString()!);
        }
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private async Task<List<(string Id, string Title, string? Cursor)>> WalkAsync(int limit)
    {
        var seen = new List<(string, string, string?)>();
        string? cursor = null;
        do
        {
            var query = $"/api/items?limit={limit}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await app.GetAsync(query, owner.AccessToken);
            Assert.Equal(200, page.Status);
            var items = page.Json.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= limit);
            cursor = page.Json.GetProperty("nextCursor").GetString();
            seen.AddRange(items.Select(item => (item.GetProperty("id").GetString()!, item.GetProperty("title").GetString()!, cursor)));
        }
        while (cursor is not null);

        return seen;
    }

    [Fact]
    public async Task Walking_every_page_returns_each_item_once_newest_first()
    {
        var seen = await WalkAsync(100);

        Assert.Equal(ItemCount, seen.Count);
        Assert.Equal(Enumerable.Reverse(createdIds), seen.Select(s => s.Id));
        Assert.Equal("Item " + (ItemCount - 1), seen[0].Title);
    }

    [Fact]
    public async Task The_default_page_is_20_items()
    {
        var page = await app.GetAsync("/api/items", owner.AccessToken);

        Assert.Equal(20, page.Json.GetProperty("items").GetArrayLength());
        Assert.NotNull(page.Json.GetProperty("nextCursor").GetString());
    }

    [Fact]
    public async Task Items_created_during_a_walk_neither_repeat_nor_hide_older_ones()
    {
        var first = await app.GetAsync("/api/items?limit=100", owner.AccessToken);
        await app.PostJsonAsync("/api/items", new { title = "Late arrival" }, owner.AccessToken);
        var cursor = first.Json.GetProperty("nextCursor").GetString()!;

        var second = await app.GetAsync("/api/items?limit=100&cursor=" + Uri.EscapeDataString(cursor), owner.AccessToken);

        var firstIds = first.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
        var secondIds = second.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
        Assert.Empty(firstIds.Intersect(secondIds));
        Assert.Equal(createdIds.AsEnumerable().Reverse().Skip(100).Take(100), secondIds);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=-1")]
    [InlineData("limit=ten")]
    [InlineData("limit=1.5")]
    [InlineData("limit=")]
    [InlineData("limit=1&limit=2")]
    [InlineData("cursor=garbage")]
    [InlineData("cursor=")]
    [InlineData("cursor=PartitionKey%20ne%20%27x%27")]
    public async Task Bad_limit_or_cursor_is_400(string query)
    {
        var response = await app.GetAsync("/api/items?" + query, owner.AccessToken);

        Assert.Equal(400, response.Status);
        Assert.True(response.Json.GetProperty("errors").EnumerateObject().Any(), response.Body);
    }

    [Fact]
    public async Task An_edited_cursor_is_400()
    {
        var cursor = (await app.GetAsync("/api/items?limit=5", owner.AccessToken)).Json.GetProperty("nextCursor").GetString()!;
        var edited = (cursor[0] == 'A' ? "B" : "A") + cursor[1..];

        var response = await app.GetAsync("/api/items?limit=5&cursor=" + Uri.EscapeDataString(edited), owner.AccessToken);

        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task Another_users_cursor_is_400_and_reveals_nothing()
    {
        var cursor = (await app.GetAsync("/api/items?limit=5", owner.AccessToken)).Json.GetProperty("nextCursor").GetString()!;
        var intruder = await app.NewUserAsync("intruder");

        var response = await app.GetAsync("/api/items?limit=5&cursor=" + Uri.EscapeDataString(cursor), intruder.AccessToken);

        Assert.Equal(400, response.Status);
        Assert.DoesNotContain("Item", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Items_live_in_the_owners_partition()
    {
        var rows = app.Table(AppTables.Items).QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {owner.Id}"), select: ["RowKey"], cancellationToken: TestContext.Current.CancellationToken);
        var count = 0;
        var marker = false;
        await foreach (var row in rows)
        {
            if (row.RowKey == ItemStore.MarkerRowKey)
            {
                marker = true;
                continue;
            }

            Assert.Contains(row.RowKey, createdIds);
            count++;
        }

        Assert.True(count >= ItemCount);
        Assert.True(marker, "The owner's partition holds the owner marker that signup made.");
    }
}
