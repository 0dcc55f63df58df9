using Azure;
using Azure.Data.Tables;
using BenchmarkDotNet.Attributes;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;

namespace Serverless.Bench;

/// <summary>
/// GET /api/items through the function class against the same query made directly with the SDK, and a page from a
/// partition of 100,000 items against one from a partition of 10.
/// </summary>
public class ListBenchmarks
{
    private static readonly string[] Columns = ["RowKey", "Title", "Description", "CreatedAt", "UpdatedAt"];

    private WorkerInvocation app = null!;
    private WorkerInvocation bigApp = null!;
    private TableClient items = null!;
    private TableClient bigItems = null!;
    private string pagedToken = "";
    private string smallToken = "";
    private string largeToken = "";

    [GlobalSetup]
    public void Setup()
    {
        var environment = BenchEnvironment.Get();
        app = new WorkerInvocation(environment.App);
        bigApp = new WorkerInvocation(environment.BigApp);
        items = BenchEnvironment.Table(environment.App, AppTables.Items);
        bigItems = BenchEnvironment.Table(environment.BigApp, AppTables.Items);
        pagedToken = environment.AccessTokenFor(BenchEnvironment.PagedUserId);
        smallToken = environment.AccessTokenFor(BenchEnvironment.SmallUserId);
        largeToken = environment.AccessTokenFor(BenchEnvironment.LargeUserId);
        if (ListFunctionPage20().GetAwaiter().GetResult() != 200 || DirectQueryPage20().GetAwaiter().GetResult() != 20
            || DirectQuery100kPage10().GetAwaiter().GetResult() != 10)
        {
            throw new InvalidOperationException("The list benchmarks do not list what they should.");
        }
    }

    /// <summary>The floor: one page of 20 straight from the SDK, into a typed entity of the same columns.</summary>
    [Benchmark]
    public Task<int> DirectQueryPage20() => QueryAsync(items, BenchEnvironment.PagedUserId, 20);

    [Benchmark]
    public Task<int> ListFunctionPage20() => ListAsync(app, pagedToken, "?limit=20");

    [Benchmark]
    public Task<int> ListFunction10Page10() => ListAsync(app, smallToken, "?limit=10");

    [Benchmark]
    public Task<int> ListFunction100kPage10() => ListAsync(bigApp, largeToken, "?limit=10");

    /// <summary>10 items, but in the table that also holds the 100,000: what Azurite's whole-table scan costs by itself.</summary>
    [Benchmark]
    public Task<int> ListFunction10InBigTablePage10() => ListAsync(bigApp, smallToken, "?limit=10");

    [Benchmark]
    public Task<int> DirectQuery100kPage10() => QueryAsync(bigItems, BenchEnvironment.LargeUserId, 10);

    private static async Task<int> QueryAsync(TableClient table, string userId, int limit)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {userId}");
        await foreach (var page in table.QueryAsync<ItemRow>(filter, limit, Columns).AsPages(null, limit))
        {
            return page.Values.Count;
        }

        return 0;
    }

    private static Task<int> ListAsync(WorkerInvocation worker, string token, string query) =>
        worker.InvokeAsync<ItemFunctions>(WorkerInvocation.Request("GET", "/api/items", query, token), anonymous: false,
            (functions, request) => functions.List(request, CancellationToken.None));

    public sealed class ItemRow : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string Title { get; set; } = "";
        public string Description { get; set; } = "";
        public DateTime CreatedAt { get; set; }
        public DateTime UpdatedAt { get; set; }
    }
}
