using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Items;

/// <summary>
/// The Items table: a user's items are one partition (PartitionKey = user id), rows keyed by <see cref="ItemId"/>.
/// Every operation is one storage transaction, always inside the caller's partition.
/// </summary>
public sealed class ItemStore(AppTables tables)
{
    private static readonly string[] ListColumns = ["RowKey", "Title", "Description", "CreatedAt", "UpdatedAt"];

    // Item ids are 35 digits and hex, so every item's RowKey lies in ["0", ":"); other rows of the partition
    // (idempotency keys, "idem-…") sort outside it and never reach a page.
    private const string FirstItemRowKey = "0";
    private const string PastLastItemRowKey = ":";

    /// <summary>Adds the item; null only if its id is already taken by another item (a new id fixes that).</summary>
    public async Task<string?> TryAddAsync(string userId, ItemView item, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            var response = await table.AddEntityAsync(ItemEntity.From(userId, item), cancellationToken);
            return response.Headers.ETag?.ToString();
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // The SDK resends a request whose answer was lost; if the first one landed, the row in the way is this very
            // item, already stored. Taking it for a collision would store the item a second time under a new id.
            return await FindAsync(userId, item.Id, cancellationToken) is { } stored && stored.Item == item ? stored.ETag : null;
        }
    }

    /// <summary>
    /// Adds the item and its idempotency-key row in one entity-group transaction (one billed request): both land or
    /// neither. The key row goes first, so a resent batch whose first answer was lost fails on it, not on the item.
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
                [keyAction, new TableTransactionAction(TableTransactionActionType.Add, ItemEntity.From(userId, item))], cancellationToken);
            return new KeyedAdd(response.Value[1].Headers.ETag?.ToString(), Refused: false);
        }
        catch (TableTransactionFailedException exception)
            when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // The key row is taken, changed or gone, or (rarely) the item id is: the caller reads the key row and decides.
            return new KeyedAdd(null, Refused: true);
        }
    }

    /// <summary>The key row, expired or not; a point read.</summary>
    public async Task<StoredIdempotencyKey?> FindKeyAsync(string userId, string key, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<IdempotencyKeyEntity>(
            userId, IdempotencyKeyEntity.RowKeyOf(key), cancellationToken: cancellationToken);
        return response.HasValue ? new StoredIdempotencyKey(response.Value!.ToRow(key), response.Value!.ETag) : null;
    }

    public async Task<StoredItem?> FindAsync(string userId, string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<ItemEntity>(userId, id, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.ToStored() : null;
    }

    /// <summary>Replaces title, description and update time, if the item exists and matches <paramref name="ifMatch"/>.</summary>
    public async Task<WriteResult> TryUpdateAsync(string userId, ItemView item, ETag ifMatch, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            var response = await table.UpdateEntityAsync(ItemEntity.From(userId, item), ifMatch, TableUpdateMode.Merge, cancellationToken);
            return new WriteResult(WriteStatus.Done, response.Headers.ETag?.ToString());
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return new WriteResult(WriteStatus.NotFound, null);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception))
        {
            // A resent update whose first answer was lost fails its own If-Match: if the item holds exactly what this
            // update wrote, the update happened.
            return await FindAsync(userId, item.Id, cancellationToken) is { } stored && stored.Item == item
                ? new WriteResult(WriteStatus.Done, stored.ETag)
                : new WriteResult(WriteStatus.PreconditionFailed, null);
        }
    }

    public async Task<WriteStatus> TryDeleteAsync(string userId, string id, ETag ifMatch, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        try
        {
            // The SDK reports a missing entity as a 404 response rather than an exception.
            var response = await table.DeleteEntityAsync(userId, id, ifMatch, cancellationToken);
            return response.Status == 404 ? WriteStatus.NotFound : WriteStatus.Done;
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception) || TableErrors.IsPreconditionFailed(exception))
        {
            return TableErrors.IsNotFound(exception) ? WriteStatus.NotFound : WriteStatus.PreconditionFailed;
        }
    }

    /// <summary>One page of the user's items, newest first: a single query on one partition.</summary>
    public async Task<(IReadOnlyList<ItemView> Items, string? ContinuationToken)> ListAsync(
        string userId, int limit, string? continuationToken, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Items, cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {userId} and RowKey ge {FirstItemRowKey} and RowKey lt {PastLastItemRowKey}");
        var pages = table.QueryAsync<ItemEntity>(filter, limit, ListColumns, cancellationToken).AsPages(continuationToken, limit);
        await foreach (var page in pages)
        {
            return ([.. page.Values.Select(entity => entity.ToView())], page.ContinuationToken);
        }

        return ([], null);
    }

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
/// key created and a hash of the request that created it. Rows past <see cref="ExpiresAt"/> count as absent; nothing
/// here deletes them (see docs/reliability.md for the cleanup).
/// </summary>
public sealed record IdempotencyKeyRow(string Key, string ItemId, string RequestHash, DateTime ExpiresAt);

public sealed record StoredIdempotencyKey(IdempotencyKeyRow Row, ETag ETag);

/// <summary>A keyed add: the item's ETag when it was stored; <see cref="Refused"/> when the key row decides what happened.</summary>
public readonly record struct KeyedAdd(string? ETag, bool Refused);

internal sealed class IdempotencyKeyEntity : ITableEntity
{
    public const string RowKeyPrefix = "idem-";

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
}

public readonly record struct WriteResult(WriteStatus Status, string? ETag);
