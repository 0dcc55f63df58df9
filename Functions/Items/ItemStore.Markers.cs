using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Items;
/// <summary>
/// The owner marker's life in <see cref="ItemStore"/>: created at signup, retired into the pending-purge row by the
/// deletion, and what the recovery (<c>Deletion/PurgeRecovery</c>) finds and settles when a signup or a purge died half-way.
/// </summary>
public sealed partial class ItemStore
{
    /// <summary>
    /// Written after <see cref="MarkerRowKey"/> by the deletion in the same batch that deletes the marker, and deleted last by
    /// the purge (with its last items): while it exists the partition still has to be purged. Sorts after the marker and
    /// before every item id.
    /// </summary>
    public const string PurgeRowKey = "!purge";

    /// <summary>
    /// How long a signup may take between its owner marker and its account, and how long a purge may stay silent, before
    /// the recovery (<c>Deletion/PurgeRecovery</c>) looks at what it left: far beyond the host's function timeout (host.json)
    /// and the 20 deliveries of a failing purge message.
    /// </summary>
    public static readonly TimeSpan RecoveryGrace = TimeSpan.FromHours(1);

    /// <summary>
    /// Creates the owner marker of a new account; a resent insert that meets its own marker is just as done. The marker
    /// names its account and stays "unchecked" (<c>CheckAfter</c>) until the recovery has seen the account exist: a marker
    /// whose signup died before the account (or lost the email to another signup) is then recognised and deleted.
    /// </summary>
    public async Task AddMarkerAsync(string userId, string accountKey, DateTime createdAt, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.AddEntityAsync(new TableEntity(userId, MarkerRowKey)
            {
                [AccountKeyProperty] = accountKey,
                [CheckAfterProperty] = createdAt + RecoveryGrace,
            }, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // User ids are fresh for each signup: the marker in the way is this signup's own.
        }
    }

    /// <summary>Deletes the owner marker: from the moment this answers, every item operation of the user fails.</summary>
    public async Task DeleteMarkerAsync(string userId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        // The SDK reports a missing entity as a 404 response rather than an exception: already deleted is deleted.
        await table.DeleteEntityAsync(userId, MarkerRowKey, ETag.All, cancellationToken);
    }

    /// <summary>
    /// The deletion's step in Items: the owner marker goes (from then on every item operation fails) and the pending-purge
    /// row <see cref="PurgeRowKey"/> comes, in one entity-group transaction, so a deleted account's partition always says it
    /// still has to be purged, at no extra transaction. A marker already gone (retired before, or by a racing run) leaves
    /// everything as it is: the pending-purge row is never written again after the purge deleted it.
    /// </summary>
    public async Task RetireMarkerAsync(string userId, string accountKey, DateTime now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(userId, MarkerRowKey), ETag.All),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, PendingPurgeRow(userId, accountKey, now)),
            ], cancellationToken);
        }
        catch (TableTransactionFailedException exception) when (IsMarkerMissing(exception))
        {
            // Retired already.
        }
    }

    /// <summary>A purge that goes on in a continuation pushes its recovery back; nothing when the purge is finished.</summary>
    public async Task PostponeRecoveryAsync(string userId, DateTime now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            // A merge with If-Match * never creates the row: a finished purge stays finished.
            await table.UpdateEntityAsync(new TableEntity(userId, PurgeRowKey) { [DueAtProperty] = now + RecoveryGrace }, ETag.All,
                TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            // Finished meanwhile, or a purge of an account deleted before pending-purge rows existed.
        }
    }

    /// <summary>
    /// What requests left unfinished in Items, at most <paramref name="maxRows"/>: pending-purge rows due (their purge went
    /// silent for <see cref="RecoveryGrace"/>) and owner markers still unchecked after it. A filtered scan of the table,
    /// for the recovery timer, never a request; <c>More</c> when more rows matched than it took.
    /// </summary>
    public async Task<(IReadOnlyList<UnfinishedRow> Rows, bool More)> FindUnfinishedAsync(DateTime now, int maxRows, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"(RowKey eq {PurgeRowKey} and DueAt lt {now}) or (RowKey eq {MarkerRowKey} and CheckAfter lt {now})");
        var rows = new List<UnfinishedRow>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: UnfinishedColumns, cancellationToken: cancellationToken))
        {
            if (rows.Count >= maxRows)
            {
                return (rows, true);
            }

            rows.Add(new UnfinishedRow(row.PartitionKey, row.RowKey == PurgeRowKey, row.GetString(AccountKeyProperty) ?? "", row.ETag));
        }

        return (rows, false);
    }

    /// <summary>
    /// Takes a due pending-purge row for one recovery: its due time moves on by <see cref="RecoveryGrace"/> under the ETag it
    /// was found with, so of two recoveries at once one wins, and the purge it starts has that long before the next.
    /// </summary>
    public async Task<bool> TryClaimPurgeAsync(UnfinishedRow row, DateTime now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(new TableEntity(row.UserId, PurgeRowKey) { [DueAtProperty] = now + RecoveryGrace }, row.ETag,
                TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>
    /// The account of this marker exists: the marker becomes a plain one, never looked at again. A replace with If-Match *,
    /// so it never brings back a marker that a deletion removed meanwhile.
    /// </summary>
    public async Task<bool> TryMarkCheckedAsync(string userId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(new TableEntity(userId, MarkerRowKey), ETag.All, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>Deletes a marker that no account owns, only if unchanged since it was found (an item write would have touched it).</summary>
    public async Task<bool> TryDeleteOrphanMarkerAsync(UnfinishedRow row, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            var response = await table.DeleteEntityAsync(row.UserId, MarkerRowKey, row.ETag, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    private const string AccountKeyProperty = "AccountKey";
    private const string CheckAfterProperty = "CheckAfter";
    private const string DueAtProperty = "DueAt";
    private static readonly string[] UnfinishedColumns = ["PartitionKey", "RowKey", AccountKeyProperty];

    private static TableEntity PendingPurgeRow(string userId, string accountKey, DateTime now) =>
        new(userId, PurgeRowKey) { [AccountKeyProperty] = accountKey, [DueAtProperty] = now + RecoveryGrace };
}

/// <summary>A row the recovery found: a due pending-purge row (<see cref="IsPurge"/>) or an unchecked owner marker, with its account.</summary>
public sealed record UnfinishedRow(string UserId, bool IsPurge, string AccountKey, ETag ETag);
