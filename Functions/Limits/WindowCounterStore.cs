using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Limits;

/// <summary>
/// The one shape of a count-in-a-window row, shared by the login throttle (<see cref="LoginThrottleStore"/>, in Users) and
/// the per-client limits (<see cref="ClientLimitStore"/>, in ClientLimits): the row is read with one point read and
/// written only if it is still as read (inserted when it was absent, replaced under its ETag otherwise), so two requests
/// on any number of instances can never both write over the same count.
/// </summary>
public sealed class WindowCounterStore(AppTables tables)
{
    /// <summary>The row, or null when absent: one point read.</summary>
    public async Task<TableEntity?> FindAsync(string table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(table, cancellationToken);
        var response = await client.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Writes <paramref name="next"/> if the row is still as read: absent when <paramref name="read"/> is null, else under
    /// that ETag. The new ETag, or null when another request wrote first. With <paramref name="isOwnWrite"/>, a refused write
    /// reads the row once more and counts as saved when the stored row is the one this write made (the SDK resends a write
    /// whose answer was lost, and the resend then finds it); without, a refused write costs nothing more.
    /// </summary>
    public async Task<ETag?> TrySaveAsync(
        string table, ITableEntity next, ETag? read, Func<TableEntity, bool>? isOwnWrite, CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(table, cancellationToken);
        try
        {
            var response = read is { } etag
                ? await client.UpdateEntityAsync(next, etag, TableUpdateMode.Replace, cancellationToken)
                : await client.AddEntityAsync(next, cancellationToken);
            return response.Headers.ETag ?? default;
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            if (isOwnWrite is null)
            {
                return null;
            }

            var stored = await client.GetEntityIfExistsAsync<TableEntity>(next.PartitionKey, next.RowKey, cancellationToken: cancellationToken);
            return stored.HasValue && isOwnWrite(stored.Value!) ? stored.Value!.ETag : null;
        }
    }

    /// <summary>Deletes the row if it is still as read under <paramref name="read"/>; nothing when it changed or went meanwhile.</summary>
    public async Task TryDeleteAsync(string table, string partitionKey, string rowKey, ETag read, CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(table, cancellationToken);
        try
        {
            await client.DeleteEntityAsync(partitionKey, rowKey, read, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // Changed or gone meanwhile.
        }
    }
}
