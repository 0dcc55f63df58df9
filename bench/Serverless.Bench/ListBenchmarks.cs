using Azure;
using Azure.Data.Tables;
using BenchmarkDotNet.Attributes;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;

namespace Serverless.Bench;

/// <summary>
/// GET /api/items through the function class against the same query made directly with the SDK, and the same page
/// from a partition of 100,000 items and from one of 10.
/// </summary>
public class ListBenchmarks
{
    private static readonly string[] Columns = ["RowKey", "Title", "Description", "CreatedAt", "UpdatedAt"];

    private BenchEnvironment environment = null!;
    private WorkerInvocation worker = null!;
    private TableClient items = null!;
    private string largeToken = "";
    private string smallToken = "";
    private string largeFilter = "";

    [GlobalSetup]
    public void Setup()
    {
        environment = BenchEnvironment.Get();
        worker = new WorkerInvocation(environment.Services);
        items = environment.Table(AppTables.Items);
        largeToken = environment.AccessTokenFor(environment.LargeUserId);
        smallToken = environment.AccessTokenFor(environment.SmallUserId);
        largeFilter = TableClient.CreateQueryFilter($"PartitionKey eq {environment.LargeUserId}");
        if (ListFunction100kPage20().GetAwaiter().GetResult() != 200 || DirectQuery100kPage20().GetAwaiter().GetResult() != 20)
        {
            throw new InvalidOperationException("The list benchmarks do not list what they should.");
        }
    }

    /// <summary>The floor: one page of 20 from the SDK, into a typed entity of the same columns.</summary>
    [Benchmark]
    public async Task<int> DirectQuery100kPage20()
    {
        await foreach (var page in items.QueryAsync<ItemRow>(largeFilter, 20, Columns).AsPages(null, 20))
        {
            return page.Values.Count;
        }

        return 0;
    }

    [Benchmark]
    public Task<int> ListFunction100kPage20() => ListAsync(largeToken, "?limit=20");

    [Benchmark]
    public Task<int> ListFunction100kPage10() => ListAsync(largeToken, "?limit=10");

    [Benchmark]
    public Task<int> ListFunction10Page10() => ListAsync(smallToken, "?limit=10");

    private Task<int> ListAsync(string token, string query) =>
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
