using Azure;
using Azure.Data.Tables;

namespace Serverless.Functions.Items;

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
