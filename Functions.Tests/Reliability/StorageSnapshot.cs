using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Every row of an app's tables as "table key etag": two equal snapshots mean nothing was stored, changed or removed
/// in between. Read with a client of the test's own, so faults injected into the app's client do not touch it.
/// </summary>
public sealed record StorageSnapshot(IReadOnlySet<string> Rows)
{
    public static async Task<StorageSnapshot> TakeAsync(TestApp app, string connectionString)
    {
        var service = new TableServiceClient(connectionString);
        var rows = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in AppTables.All)
        {
            try
            {
                var entities = service.GetTableClient(app.TablePrefix + table)
                    .QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"], cancellationToken: TestContext.Current.CancellationToken);
                await foreach (var entity in entities)
                {
                    rows.Add($"{table} {entity.PartitionKey}/{entity.RowKey} {entity.ETag}");
                }
            }
            catch (RequestFailedException exception) when (exception.Status == 404)
            {
                // The table does not exist yet: it holds nothing.
            }
        }

        return new StorageSnapshot(rows);
    }

    /// <summary>The rows that appeared, changed or disappeared since this snapshot, except rows with one of <paramref name="ignoredRowKeys"/>.</summary>
    public IReadOnlyList<string> ChangesTo(StorageSnapshot later, params string[] ignoredRowKeys)
    {
        bool Counted(string row) => !ignoredRowKeys.Any(key => row.Contains($"/{key} ", StringComparison.Ordinal));
        return
        [
            .. Rows.Except(later.Rows).Where(Counted).Select(row => "- " + row),
            .. later.Rows.Except(Rows).Where(Counted).Select(row => "+ " + row),
        ];
    }
}
