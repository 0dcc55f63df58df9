using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Cleanup;

/// <summary>
/// Deletes rows a cleanup found, under the ETags they were read with: one entity-group transaction per partition and
/// 100 rows; if a row changed or went meanwhile the whole batch is refused, and then each row is tried alone, so that one
/// refreshed or used row does not keep 99 expired rows alive.
/// </summary>
public static class ExpiredRowDeletes
{
    /// <summary>What one sweep found (at most its budget), what of it it deleted, and whether more rows matched than it took.</summary>
    public sealed record RowSweep(IReadOnlyList<TableEntity> Found, IReadOnlyList<TableEntity> Deleted, bool More);

    private const int BatchSize = 100;

    /// <summary>
    /// Finds at most <paramref name="maxRows"/> rows matching <paramref name="filter"/> (keys only, pages of 1,000) and
    /// deletes those unchanged since. With a filter that names no partition this is a table scan: background jobs only.
    /// </summary>
    public static async Task<RowSweep> FindAndDeleteAsync(TableClient table, string filter, int maxRows, CancellationToken cancellationToken)
    {
        var (rows, more) = await FindAsync(table, filter, maxRows, cancellationToken);
        return new RowSweep(rows, await DeleteUnchangedAsync(table, rows, cancellationToken), more);
    }

    /// <summary>The first half of <see cref="FindAndDeleteAsync"/>: the rows found (keys and ETags) and whether more matched.</summary>
    public static async Task<(IReadOnlyList<TableEntity> Rows, bool More)> FindAsync(TableClient table, string filter, int maxRows, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        var more = false;
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            if (rows.Count >= maxRows)
            {
                more = true;
                break;
            }

            rows.Add(row);
        }

        return (rows, more);
    }

    /// <summary>Deletes <paramref name="rows"/> and returns those it deleted (changed or gone rows are left alone).</summary>
    public static async Task<IReadOnlyList<TableEntity>> DeleteUnchangedAsync(TableClient table, IEnumerable<TableEntity> rows, CancellationToken cancellationToken)
    {
        var deleted = new List<TableEntity>();
        foreach (var batch in rows.GroupBy(row => row.PartitionKey, StringComparer.Ordinal).SelectMany(partition => partition.Chunk(BatchSize)))
        {
            deleted.AddRange(await DeleteBatchAsync(table, batch, cancellationToken));
        }

        return deleted;
    }

    private static async Task<IReadOnlyList<TableEntity>> DeleteBatchAsync(TableClient table, TableEntity[] rows, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(rows.Select(row => new TableTransactionAction(TableTransactionActionType.Delete, row, row.ETag)), cancellationToken);
            return rows;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 412)
        {
            var deleted = new List<TableEntity>();
            foreach (var row in rows)
            {
                try
                {
                    var response = await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
                    if (response.Status != 404)
                    {
                        deleted.Add(row);
                    }
                }
                catch (RequestFailedException failed) when (TableErrors.IsPreconditionFailed(failed) || TableErrors.IsNotFound(failed))
                {
                    // Changed or deleted since the scan: not ours to delete.
                }
            }

            return deleted;
        }
    }
}
