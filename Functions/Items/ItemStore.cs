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
public sealed class ItemStore(AppTables tables)
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

/// <summary>
/// An Idempotency-Key row (RowKey "idem-" + the key in base64url), beside the items of its user's partition: the item the
/// key created and a hash of the request that created it. Rows past <see cref="ExpiresAt"/> count as absent; the hourly
/// cleanup deletes them (<see cref="ItemStore.DeleteExpiredKeysAsync"/>).
/// </summary>
public sealed record IdempotencyKeyRow(string Key, string ItemId, string RequestHash, DateTime ExpiresAt);

public sealed record StoredIdempotencyKey(IdempotencyKeyRow Row, ETag ETag);

/// <summary>A keyed add: the item's ETag when it was stored; <see cref="Refused"/> when the key row decides what happened.</summary>
public readonly record struct KeyedAdd(string? ETag, bool Refused, bool AccountGone);

internal sealed class IdempotencyKeyEntity : ITableEntity
{
    public const string RowKeyPrefix = "idem-";

    /// <summary>Sorts after every key row ('.' follows '-'), so [prefix, this) is exactly the key rows.</summary>
    public const string PastLastRowKey = "idem.";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string ItemId { get; set; } = "";
    public string RequestHash { get; set; } = "";
    public DateTime ExpiresAt { get; set; }

    // Keys are visible ASCII, which includes characters a RowKey may not hold ('/', '\\', '#', '?'): base64url has none.
    public static string RowKeyOf(string key) => RowKeyPrefix + System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(key));

    public static IdempotencyKeyEntity From(string userId, IdempotencyKeyRow row) => new()
    {
        PartitionKey = userId,
        RowKey = RowKeyOf(row.Key),
        ItemId = row.ItemId,
        RequestHash = row.RequestHash,
        ExpiresAt = row.ExpiresAt,
    };

    public IdempotencyKeyRow ToRow(string key) => new(key, ItemId, RequestHash, DateTime.SpecifyKind(ExpiresAt, DateTimeKind.Utc));
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

/// <summary>A row the recovery found: a due pending-purge row (<see cref="IsPurge"/>) or an unchecked owner marker, with its account.</summary>
public sealed record UnfinishedRow(string UserId, bool IsPurge, string AccountKey, ETag ETag);

/// <summary>A page of items read, whether more follow, or that the account no longer exists.</summary>
public sealed record ItemListing(IReadOnlyList<ItemView> Items, bool HasMore, bool AccountGone);
