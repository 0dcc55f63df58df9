namespace Serverless.Functions.Items;

public sealed record ItemRequest(string? Title, string? Description);

public sealed record ItemView(string Id, string Title, string? Description, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record ItemPage(IReadOnlyList<ItemView> Items, string? NextCursor);

/// <summary>An item as stored, with the ETag storage gave it.</summary>
public sealed record StoredItem(ItemView Item, string ETag);

/// <summary>What an items operation came to; the functions map each case to its HTTP answer.</summary>
public abstract record ItemOutcome
{
    public sealed record Done(StoredItem Stored) : ItemOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : ItemOutcome;

    public sealed record NotFound : ItemOutcome;

    public sealed record PreconditionFailed : ItemOutcome;

    public sealed record Deleted : ItemOutcome;

    /// <summary>An Idempotency-Key this user already sent, within 24 hours, with another body.</summary>
    public sealed record IdempotencyKeyReused : ItemOutcome;

    /// <summary>An Idempotency-Key whose item has been deleted since it was created.</summary>
    public sealed record CreatedItemGone : ItemOutcome;
    public sealed record Listed(ItemPage Page) : ItemOutcome;

    /// <summary>The caller's account was deleted (its owner marker is gone), though the access token is still valid.</summary>
    public sealed record AccountGone : ItemOutcome;
}
