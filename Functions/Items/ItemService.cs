using System.Text.RegularExpressions;
using Azure;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Items;

/// <summary>The items rules: validation, ids, paging and ETags, always within the caller's own partition.</summary>
public sealed partial class ItemService(ItemStore store, ItemCursor cursors, TimeProvider clock, ILogger<ItemService> logger)
{
    public const int MaxTitleLength = 200;
    public const int MaxDescriptionLength = 2000;
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const int MaxIdempotencyKeyLength = 64;
    public static readonly TimeSpan IdempotencyKeyLifetime = TimeSpan.FromHours(24);

    public async Task<ItemOutcome> CreateAsync(string userId, ItemRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        // A new id only collides if two creations share a tick and 64 random bits: one retry is plenty.
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var item = new ItemView(ItemId.New(now), Title(request), Description(request), now, now);
            var result = await store.TryAddAsync(userId, item, cancellationToken);
            if (result.Status == WriteStatus.AccountGone)
            {
                return new ItemOutcome.AccountGone();
            }

            if (result.Status == WriteStatus.Done)
            {
                LogCreated(logger, item.Id, userId);
                return new ItemOutcome.Done(new StoredItem(item, result.ETag!));
            }

            if (attempt == 2)
            {
                throw new InvalidOperationException("Three new item ids collided in a row.");
            }
        }
    }

    /// <summary>
    /// A create that may carry an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the key's row is written in
    /// the same batch as the item, so one storage transaction still creates both. A key already used by this user within
    /// 24 hours answers with the item it created (a second and third request, on this path only); with another body, 422.
    /// </summary>
    public async Task<ItemOutcome> CreateAsync(string userId, ItemRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is null)
        {
            return await CreateAsync(userId, request, cancellationToken);
        }

        var invalid = Validate(request);
        if (!IsValidIdempotencyKey(idempotencyKey))
        {
            var errors = new Dictionary<string, string[]>(invalid?.Errors ?? new Dictionary<string, string[]>())
            {
                [IdempotencyKeyHeader] = [$"Use 1 to {MaxIdempotencyKeyLength} visible ASCII characters, once; a fresh UUID per new item does."],
            };
            return new ItemOutcome.Invalid(errors);
        }

        if (invalid is not null)
        {
            return invalid;
        }

        var requestHash = RequestHash(Title(request), Description(request));
        ETag? expiredKey = null;

        // Each round either stores the item, answers from the key row, or learns something that changes the next
        // round (the key row expired, or was removed); a fourth round would need three such changes within one request.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var item = new ItemView(ItemId.New(now), Title(request), Description(request), now, now);
            var row = new IdempotencyKeyRow(idempotencyKey, item.Id, requestHash, now + IdempotencyKeyLifetime);
            var added = await store.TryAddWithKeyAsync(userId, item, row, expiredKey, cancellationToken);
            if (added.AccountGone)
            {
                return new ItemOutcome.AccountGone();
            }

            if (!added.Refused)
            {
                LogCreated(logger, item.Id, userId);
                return new ItemOutcome.Done(new StoredItem(item, added.ETag!));
            }

            var existing = await store.FindKeyAsync(userId, idempotencyKey, cancellationToken);
            if (existing is null || existing.Row.ExpiresAt <= now)
            {
                expiredKey = existing?.ETag;
                continue;
            }

            if (existing.Row.RequestHash != requestHash)
            {
                LogKeyReused(logger, userId);
                return new ItemOutcome.IdempotencyKeyReused();
            }

            LogReplayed(logger, existing.Row.ItemId, userId);
            var read = await store.FindAsync(userId, existing.Row.ItemId, cancellationToken);
            return read.AccountGone ? new ItemOutcome.AccountGone()
                : read.Item is { } stored ? new ItemOutcome.Done(stored)
                : new ItemOutcome.CreatedItemGone();
        }

        throw new InvalidOperationException("An Idempotency-Key row kept changing under four create attempts in a row.");
    }

    /// <summary>1 to 64 visible ASCII characters (VCHAR, %x21-7E), as docs/api.md has it.</summary>
    public static bool IsValidIdempotencyKey(string key) =>
        key.Length is > 0 and <= MaxIdempotencyKeyLength && key.All(c => c is >= '!' and <= '~');

    // What the item is made of after normalization, so "Milk" and "Milk " (trimmed alike) are the same request.
    private static string RequestHash(string title, string? description)
    {
        var text = $"{title.Length}:{title}\n{(description is null ? "-" : description.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + description)}";
        return Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    public async Task<ItemOutcome> GetAsync(string userId, string id, CancellationToken cancellationToken)
    {
        if (!ItemId.IsValid(id))
        {
            return new ItemOutcome.NotFound();
        }

        var read = await store.FindAsync(userId, id, cancellationToken);
        return read.AccountGone ? new ItemOutcome.AccountGone()
            : read.Item is { } stored ? new ItemOutcome.Done(stored)
            : new ItemOutcome.NotFound();
    }

    public async Task<ItemOutcome> UpdateAsync(string userId, string id, ItemRequest request, string? ifMatch, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        if (!ItemId.IsValid(id))
        {
            return new ItemOutcome.NotFound();
        }

        if (!TryReadIfMatch(ifMatch, out var etag))
        {
            return new ItemOutcome.PreconditionFailed();
        }

        var item = new ItemView(id, Title(request), Description(request), ItemId.CreatedAt(id), clock.GetUtcNow().UtcDateTime);
        var result = await store.TryUpdateAsync(userId, item, etag, cancellationToken);
        return result.Status switch
        {
            WriteStatus.Done => new ItemOutcome.Done(new StoredItem(item, result.ETag!)),
            WriteStatus.NotFound => new ItemOutcome.NotFound(),
            WriteStatus.AccountGone => new ItemOutcome.AccountGone(),
            _ => new ItemOutcome.PreconditionFailed(),
        };
    }

    public async Task<ItemOutcome> DeleteAsync(string userId, string id, string? ifMatch, CancellationToken cancellationToken)
    {
        if (!ItemId.IsValid(id))
        {
            return new ItemOutcome.NotFound();
        }

        if (!TryReadIfMatch(ifMatch, out var etag))
        {
            return new ItemOutcome.PreconditionFailed();
        }

        return await store.TryDeleteAsync(userId, id, etag, cancellationToken) switch
        {
            WriteStatus.Done => new ItemOutcome.Deleted(),
            WriteStatus.NotFound => new ItemOutcome.NotFound(),
            WriteStatus.AccountGone => new ItemOutcome.AccountGone(),
            _ => new ItemOutcome.PreconditionFailed(),
        };
    }

    /// <summary>A page of the caller's items (<see cref="ItemOutcome.Listed"/>), or the validation errors for <c>limit</c> and <c>cursor</c>.</summary>
    public async Task<ItemOutcome> ListAsync(string userId, string? limitText, string? cursor, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var limit = DefaultLimit;
        if (limitText is not null && (!int.TryParse(limitText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit)
            || limit is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"Use a whole number from 1 to {MaxLimit}."];
        }

        // The cursor names the last item of the previous page; only an id this service could have made is one.
        string? after = null;
        if (cursor is not null && !ItemId.IsValid(after = cursors.Unprotect(userId, cursor)))
        {
            errors["cursor"] = ["Use the nextCursor of the previous page, unchanged."];
        }

        if (errors.Count > 0)
        {
            return new ItemOutcome.Invalid(errors);
        }

        var listing = await store.ListAsync(userId, limit, after, cancellationToken);
        if (listing.AccountGone)
        {
            return new ItemOutcome.AccountGone();
        }

        var next = listing.HasMore && listing.Items.Count > 0 ? cursors.Protect(userId, listing.Items[^1].Id) : null;
        return new ItemOutcome.Listed(new ItemPage(listing.Items, next));
    }

    private static ItemOutcome.Invalid? Validate(ItemRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Title is null || Text.CodePoints(Title(request)) is 0 or > MaxTitleLength || Text.HasControlCharacters(request.Title))
        {
            errors["title"] = [$"Use 1 to {MaxTitleLength} characters, without control characters."];
        }

        // Counted as stored, after NFC, which can lengthen text (U+FB2C becomes three code points).
        if (request.Description is { } description
            && (!Text.TryNormalize(description, out var normalized, trim: false) || Text.CodePoints(normalized) > MaxDescriptionLength
                || Text.HasControlCharacters(description, allowLineBreaks: true)))
        {
            errors["description"] = [$"Use at most {MaxDescriptionLength} characters, without control characters other than line breaks and tabs."];
        }

        return errors.Count > 0 ? new ItemOutcome.Invalid(errors) : null;
    }

    private static string Title(ItemRequest request) =>
        Text.TryNormalize(request.Title ?? "", out var title) ? title : "";

    // Kept as written (line breaks, indentation), only NFC-normalized; an empty description is none.
    private static string? Description(ItemRequest request) =>
        string.IsNullOrEmpty(request.Description) || !Text.TryNormalize(request.Description, out var description, trim: false) ? null : description;

    /// <summary>No header: unconditional. Otherwise "*" or an ETag of the shape storage hands out; anything else cannot match.</summary>
    private static bool TryReadIfMatch(string? header, out ETag etag)
    {
        etag = ETag.All;
        if (string.IsNullOrEmpty(header) || header == "*")
        {
            return true;
        }

        if (!StorageETag().IsMatch(header))
        {
            return false;
        }

        etag = new ETag(header);
        return true;
    }

    // \z, not $: "$" also matches before a final line break, and a header value with one makes the storage call throw.
    [GeneratedRegex(@"^W/""datetime'[0-9A-Za-z%.:\-]{1,64}'""\z", RegexOptions.CultureInvariant)]
    private static partial Regex StorageETag();

    [LoggerMessage(Level = LogLevel.Information, Message = "Created item {ItemId} for user {UserId}")]
    private static partial void LogCreated(ILogger logger, string itemId, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Answered a repeated Idempotency-Key with item {ItemId} for user {UserId}")]
    private static partial void LogReplayed(ILogger logger, string itemId, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused an Idempotency-Key reused with another body for user {UserId}")]
    private static partial void LogKeyReused(ILogger logger, string userId);
}
