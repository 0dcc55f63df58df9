using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Accounts;

/// <summary>
/// One login session (a refresh-token family): the hash of its one current secret, its owner and a copy of the
/// owner's profile, so a refresh needs no other read.
/// </summary>
public sealed record RefreshFamily(
    string FamilyId, string SecretHash, string UserId, string AccountKey, string Email, string? DisplayName,
    DateTime UserCreatedAt, DateTime ExpiresAt, bool Revoked)
{
    /// <summary>The secret hash this one replaced, and when: a concurrent duplicate of that refresh is not a theft.</summary>
    public string? PreviousSecretHash { get; init; }

    public DateTime? RotatedAt { get; init; }

    /// <summary>The owner's email state when the session started (a copy, like the profile).</summary>
    public bool EmailVerified { get; init; }

    public ETag ETag { get; init; }
}

/// <summary>The RefreshTokens table: a row per family, so a refresh is one point read plus one conditional write.</summary>
public sealed class RefreshTokenStore(AppTables tables)
{
    public async Task AddAsync(RefreshFamily family, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.RefreshTokens, cancellationToken);
        try
        {
            await table.AddEntityAsync(FamilyEntity.From(family), cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // Family ids are 128 random bits: a conflict is a resent insert whose first answer was lost, so the session
            // is already stored. Anything else in the way is a real fault.
            if (await FindAsync(family.FamilyId, cancellationToken) is not { } stored || stored.SecretHash != family.SecretHash)
            {
                throw;
            }
        }
    }

    public async Task<RefreshFamily?> FindAsync(string familyId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.RefreshTokens, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<FamilyEntity>(familyId, familyId, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.ToRecord() : null;
    }

    /// <summary>Replaces the family only if nobody changed it since it was read: false when another refresh won.</summary>
    public async Task<bool> TryReplaceAsync(RefreshFamily family, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.RefreshTokens, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(FamilyEntity.From(family), family.ETag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return false;
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception))
        {
            // Another refresh won, unless this is a resent write whose first answer was lost: then the row holds our secret.
            return await FindAsync(family.FamilyId, cancellationToken) is { } stored && stored.SecretHash == family.SecretHash && !stored.Revoked;
        }
    }

    /// <summary>Marks the family revoked whatever its state; an unknown family is already as good as revoked.</summary>
    public async Task RevokeAsync(string familyId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.RefreshTokens, cancellationToken);
        try
        {
            var revoked = new TableEntity(familyId, familyId) { [nameof(FamilyEntity.Revoked)] = true };
            await table.UpdateEntityAsync(revoked, ETag.All, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            // Nothing to revoke.
        }
    }

    /// <summary>
    /// Ends every session of the account (a password reset: whoever else held one loses it). Interim: this table is keyed
    /// by family, so finding an account's families is a filtered query across partitions; once sessions live in the
    /// account's partition of Users this becomes one single-partition query and a batch.
    /// </summary>
    public async Task<int> RevokeAllOfAccountAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.RefreshTokens, cancellationToken);
        var revoked = 0;
        await foreach (var family in table.QueryAsync<FamilyEntity>(
            TableClient.CreateQueryFilter($"AccountKey eq {accountKey} and Revoked eq false"), select: [nameof(FamilyEntity.RowKey)], cancellationToken: cancellationToken))
        {
            await RevokeAsync(family.RowKey, cancellationToken);
            revoked++;
        }

        return revoked;
    }

    private sealed class FamilyEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string SecretHash { get; set; } = "";
        public string UserId { get; set; } = "";
        public string AccountKey { get; set; } = "";
        public string Email { get; set; } = "";
        public string? DisplayName { get; set; }
        public DateTime UserCreatedAt { get; set; }
        public DateTime ExpiresAt { get; set; }
        public bool Revoked { get; set; }
        public string? PreviousSecretHash { get; set; }
        public DateTime? RotatedAt { get; set; }
        public bool EmailVerified { get; set; }

        public static FamilyEntity From(RefreshFamily family) => new()
        {
            PartitionKey = family.FamilyId,
            RowKey = family.FamilyId,
            ETag = family.ETag,
            SecretHash = family.SecretHash,
            UserId = family.UserId,
            AccountKey = family.AccountKey,
            Email = family.Email,
            DisplayName = family.DisplayName,
            UserCreatedAt = family.UserCreatedAt,
            ExpiresAt = family.ExpiresAt,
            Revoked = family.Revoked,
            PreviousSecretHash = family.PreviousSecretHash,
            RotatedAt = family.RotatedAt,
            EmailVerified = family.EmailVerified,
        };

        public RefreshFamily ToRecord() => new(
            PartitionKey, SecretHash, UserId, AccountKey, Email, DisplayName,
            DateTime.SpecifyKind(UserCreatedAt, DateTimeKind.Utc), DateTime.SpecifyKind(ExpiresAt, DateTimeKind.Utc), Revoked)
        {
            ETag = ETag,
            PreviousSecretHash = PreviousSecretHash,
            RotatedAt = RotatedAt is { } rotatedAt ? DateTime.SpecifyKind(rotatedAt, DateTimeKind.Utc) : null,
            EmailVerified = EmailVerified,
        };
    }
}
