using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Cleanup;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Items;

/// <summary>
/// The Items table: a user's items are one partition (PartitionKey = user id), rows keyed by <see cref="ItemId"/>, plus
/// the account's owner marker (<see cref="MarkerRowKey"/>), created at signup and deleted first when the account is (replaced
/// by the pending-purge row <see cref="PurgeRowKey"/> until the purge is done).
/// Every operation is one storage transaction inside the caller's partition, and every one of them meets the marker:
/// writes touch it in the same entity-group batch (which fails whole when it is gone), reads return it with the items.
/// So once the marker is deleted, no item of the account is read or written again, whatever access token is shown.
/// </summary>
public sealed partial class ItemStore(AppTables tables)
{
    /// <summary>Sorts before every item id (which starts with a digit) and can never be one (<see cref="ItemId.IsValid"/>).</summary>
    public const string MarkerRowKey = "!owner";

    /// <summary>The most actions one entity-group batch may hold.</summary>
    public const int MaxBatchSize = 100;

    private static readonly string[] ListColumns = ["RowKey", "Title", "Description", "CreatedAt", "UpdatedAt"];
    private static readonly string[] KeyColumns = ["RowKey"];

    // Item ids are 35 digits and hex, so every item's RowKey lies in ["0", ":"); the marker ("!owner") sorts before it and
    // idempotency-key rows ("idem-…") after it, so a page holds the marker and items only.
    private const string FirstItemRowKey = "0";
    private const string PastLastItemRowKey = ":";

    /// <summary>Adds the item (Conflict only if its id is already taken by another item: a new id fixes that).</summary>
    public async Task<WriteResult> TryAddAsync(string userId, ItemView item, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            var responses = await table.SubmitTransactionAsync(
                [TouchMarker(userId), new TableTransactionAction(TableTransactionActionType.Add, ItemEntity.From(userId, item))], cancellationToken);
            return new WriteResult(WriteStatus.Done, responses.Value[1].Headers.ETag?.ToString());
        }
        catch (TableTransactionFailedException exception) when (IsMarkerMissing(exception))
        {
            return new WriteResult(WriteStatus.AccountGone, null);
        }
        catch (TableTransactionFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // The SDK resends a request whose answer was lost; if the first one landed, the row in the way is this very
            // item, already stored. Taking it for a collision would store the item a second time under a new id.
            var read = await FindAsync(userId, item.Id, cancellationToken);
            return read.AccountGone ? new WriteResult(WriteStatus.AccountGone, null)
                : read.Item is { } stored && stored.Item == item ? new WriteResult(WriteStatus.Done, stored.ETag)
                : new WriteResult(WriteStatus.Conflict, null);
        }
    }

    /// <summary>
    /// Adds the item and its idempotency-key row in one entity-group transaction (one billed request): both land or
    /// neither, and like every write it touches the owner marker. The key row goes right after the marker, so a resent batch whose first answer was lost fails on it, not on the item.
    /// <paramref name="replacing"/> is the ETag of an expired key row to overwrite; null inserts a new one.
    /// </summary>
    public async Task<KeyedAdd> TryAddWithKeyAsync(string userId, ItemView item, IdempotencyKeyRow key, ETag? replacing,
        CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var keyEntity = IdempotencyKeyEntity.From(userId, key);
        TableTransactionAction keyAction = replacing is { } etag
            ? new(TableTransactionActionType.UpdateReplace, keyEntity, etag)
            : new(TableTransactionActionType.Add, keyEntity);
        try
        {
            var response = await table.SubmitTransactionAsync(
                [TouchMarker(userId), keyAction, new TableTransactionAction(TableTransactionActionType.Add, ItemEntity.From(userId, item))],
                cancellationToken);
            return new KeyedAdd(response.Value[2].Headers.ETag?.ToString(), Refused: false, AccountGone: false);
        }
        catch (TableTransactionFailedException exception) when (IsMarkerMissing(exception))
        {
            return new KeyedAdd(null, Refused: false, AccountGone: true);
        }
        catch (TableTransactionFailedException exception)
            when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // The key row is taken, changed or gone, or (rarely) the item id is: the caller reads the key row and decides.
            return new KeyedAdd(null, Refused: true, AccountGone: false);
        }
    }

    /// <summary>
    /// Deletes idempotency-key rows past their expiry, at most <paramref name="maxRows"/>, each only if unchanged since it
    /// was read (a create that reused its key meanwhile keeps the new row; one that meets a deleted row inserts it again).
    /// A scan of the table, filtered on the key rows' RowKey range: for the hourly cleanup, never a request.
    /// </summary>
    public async Task<(int Found, int Deleted)> DeleteExpiredKeysAsync(DateTime now, int maxRows, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"RowKey gt {IdempotencyKeyEntity.RowKeyPrefix} and RowKey lt {IdempotencyKeyEntity.PastLastRowKey} and ExpiresAt lt {now}");
        var sweep = await ExpiredRowDeletes.FindAndDeleteAsync(table, filter, maxRows, cancellationToken);
        return (sweep.Found.Count, sweep.Deleted.Count);
    }

    /// <summary>The key row, expired or not; a point read.</summary>
    public async Task<StoredIdempotencyKey?> FindKeyAsync(string userId, string key, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<IdempotencyKeyEntity>(
            userId, IdempotencyKeyEntity.RowKeyOf(key), cancellationToken: cancellationToken);
        return response.HasValue ? new StoredIdempotencyKey(response.Value!.ToRow(key), response.Value!.ETag) : null;
    }

    /// <summary>The item, if it exists, from one query that also returns the owner marker (its absence: the account is gone).</summary>
    public async Task<ItemRead> FindAsync(string userId, string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {userId} and (RowKey eq {MarkerRowKey} or RowKey eq {id})");
        var marker = false;
        StoredItem? item = null;
        await foreach (var entity in table.QueryAsync<ItemEntity>(filter, maxPerPage: 2, cancellationToken: cancellationToken))
        {
            if (entity.RowKey == MarkerRowKey)
            {
                marker = true;
            }
            else
            {
                item = entity.ToStored();
            }
        }

        return marker ? new ItemRead(item, AccountGone: false) : new ItemRead(null, AccountGone: true);
    }

    /// <summary>Replaces title, description and update time, if the item exists and matches <paramref name="ifMatch"/>.</summary>
    public async Task<WriteResult> TryUpdateAsync(string userId, ItemView item, ETag ifMatch, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            var responses = await table.SubmitTransactionAsync(
                [TouchMarker(userId), new TableTransactionAction(TableTransactionActionType.UpdateMerge, ItemEntity.From(userId, item), ifMatch)],
                cancellationToken);
            return new WriteResult(WriteStatus.Done, responses.Value[1].Headers.ETag?.ToString());
        }
        catch (TableTransactionFailedException exception) when (IsMarkerMissing(exception))
        {
            return new WriteResult(WriteStatus.AccountGone, null);
        }
        catch (TableTransactionFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return new WriteResult(WriteStatus.NotFound, null);
        }
        catch (TableTransactionFailedException exception) when (TableErrors.IsPreconditionFailed(exception))
        {
            // A resent update whose first answer was lost fails its own If-Match: if the item holds exactly what this
            // update wrote, the update happened.
            var read = await FindAsync(userId, item.Id, cancellationToken);
            return read.AccountGone ? new WriteResult(WriteStatus.AccountGone, null)
                : read.Item is { } stored && stored.Item == item ? new WriteResult(WriteStatus.Done, stored.ETag)
                : new WriteResult(WriteStatus.PreconditionFailed, null);
        }
    }

    public async Task<WriteStatus> TryDeleteAsync(string userId, string id, ETag ifMatch, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
                [TouchMarker(userId), new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(userId, id), ifMatch)],
                cancellationToken);
            return WriteStatus.Done;
        }
        catch (TableTransactionFailedException exception) when (IsMarkerMissing(exception))
        {
            return WriteStatus.AccountGone;
        }
        catch (TableTransactionFailedException exception) when (TableErrors.IsNotFound(exception) || TableErrors.IsPreconditionFailed(exception))
        {
            return TableErrors.IsNotFound(exception) ? WriteStatus.NotFound : WriteStatus.PreconditionFailed;
        }
    }

    /// <summary>
    /// One page of the user's items, newest first, after the item id <paramref name="after"/> (from the start when null):
    /// a single query on one partition that also returns the owner marker (sorted first) and one item more than asked,
    /// so the page knows whether another follows.
    /// </summary>
    public async Task<ItemListing> ListAsync(string userId, int limit, string? after, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {userId} and (RowKey eq {MarkerRowKey} or (RowKey gt {after ?? FirstItemRowKey} and RowKey lt {PastLastItemRowKey}))");
        var pages = table.QueryAsync<ItemEntity>(filter, limit + 2, ListColumns, cancellationToken).AsPages(pageSizeHint: limit + 2);
        await foreach (var page in pages)
        {
            if (page.Values.Count == 0 || page.Values[0].RowKey != MarkerRowKey)
            {
                return new ItemListing([], HasMore: false, AccountGone: true);
            }

            var items = page.Values.Skip(1).Select(entity => entity.ToView()).ToList();
            // Storage may end a page early and say so with a continuation token; then there may be more, too.
            var hasMore = items.Count > limit || (page.ContinuationToken is not null && items.Count > 0);
            return new ItemListing(items.Count > limit ? items[..limit] : items, hasMore, AccountGone: false);
        }

        return new ItemListing([], HasMore: false, AccountGone: true);
    }

    /// <summary>
    /// The row keys of up to <paramref name="max"/> rows left in the user's partition, marker and pending-purge row included:
    /// one query; <c>All</c> when they are every row left.
    /// </summary>
    public async Task<(IReadOnlyList<string> RowKeys, bool All)> ListRowKeysAsync(string userId, int max, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var rowKeys = new List<string>();
        // Storage may end a page early; the next page is read only then, never past max.
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {userId}"), max, KeyColumns, cancellationToken))
        {
            rowKeys.Add(entity.RowKey);
            if (rowKeys.Count == max)
            {
                return (rowKeys, false);
            }
        }

        return (rowKeys, true);
    }

    /// <summary>
    /// Deletes rows of the user's partition, at most <see cref="MaxBatchSize"/> at once, whatever they hold: one transaction.
    /// False when one of them was already gone (another purge got there first): nothing was deleted, read again.
    /// </summary>
    public async Task<bool> TryDeleteRowsAsync(string userId, IReadOnlyCollection<string> rowKeys, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
                rowKeys.Select(rowKey => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(userId, rowKey), ETag.All)),
                cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    // Merging nothing into the marker with If-Match * changes no data, but fails the whole batch once the marker is gone.
    private static TableTransactionAction TouchMarker(string userId) =>
        new(TableTransactionActionType.UpdateMerge, new TableEntity(userId, MarkerRowKey), ETag.All);

    // The marker is the batch's first action, so when it is gone that is the failure storage reports.
    private static bool IsMarkerMissing(TableTransactionFailedException exception) =>
        TableErrors.IsNotFound(exception) && exception.FailedTransactionActionIndex == 0;

    private sealed class ItemEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string Title { get; set; } = "";

        // Stored as "" for none: a merge cannot remove a property, but it can overwrite it.
        public string Description { get; set; } = "";
        public DateTime CreatedAt { get; set; }
        public DateTime UpdatedAt { get; set; }

        public static ItemEntity From(string userId, ItemView item) => new()
        {
            PartitionKey = userId,
            RowKey = item.Id,
            Title = item.Title,
            Description = item.Description ?? "",
            CreatedAt = item.CreatedAt,
            UpdatedAt = item.UpdatedAt,
        };

        public ItemView ToView() => new(
            RowKey, Title, Description.Length == 0 ? null : Description,
            DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc), DateTime.SpecifyKind(UpdatedAt, DateTimeKind.Utc));

        public StoredItem ToStored() => new(ToView(), ETag.ToString());
    }
}

public enum WriteStatus
{
    Done,
    NotFound,
    PreconditionFailed,
    Conflict,
    AccountGone,
}

public readonly record struct WriteResult(WriteStatus Status, string? ETag);

/// <summary>An item read: the item (null when there is none), or that the account no longer exists.</summary>
public readonly record struct ItemRead(StoredItem? Item, bool AccountGone);

/// <summary>A page of items read, whether more follow, or that the account no longer exists.</summary>
public sealed record ItemListing(IReadOnlyList<ItemView> Items, bool HasMore, bool AccountGone);
