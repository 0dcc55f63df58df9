using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Accounts;

public sealed record UserRecord(string Id, string AccountKey, string Email, string? DisplayName, string PasswordHash, DateTime CreatedAt)
{
    public bool EmailVerified { get; init; }

    public ETag ETag { get; init; }
}

/// <summary>The Users table: one row per account, keyed by the email's key, so a duplicate signup is a 409 from storage.</summary>
public sealed class UserStore(AppTables tables)
{
    public const string EmailVerifiedProperty = nameof(UserEntity.EmailVerified);
    public const string PasswordHashProperty = nameof(UserEntity.PasswordHash);

    /// <summary>
    /// Inserts the account's row together with <paramref name="alongside"/> (rows of the same partition, e.g. the
    /// verification mail's token and outbox rows) in one entity-group batch: one transaction, all or nothing. Those rows
    /// replace any left from an earlier account of the email; only the account row decides whether the email is taken.
    /// </summary>
    public async Task<bool> TryAddAsync(UserRecord user, IEnumerable<ITableEntity> alongside, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
                [new(TableTransactionActionType.Add, UserEntity.From(user)), .. alongside.Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row))],
                cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // A resent insert whose first answer was lost meets its own row: that is this signup, not a taken email.
            return await FindAsync(user.AccountKey, cancellationToken) is { } stored && stored.Id == user.Id;
        }
    }

    public async Task<UserRecord?> FindAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(accountKey, accountKey, cancellationToken: cancellationToken);
        return response.HasValue ? UserEntity.FromRow(response.Value!) : null;
    }

    /// <summary>The account from its row, for stores that read it together with other rows of its partition.</summary>
    public static UserRecord FromRow(TableEntity row) => UserEntity.FromRow(row);

    /// <summary>
    /// The account's row and its login-throttle row (<see cref="LoginThrottleStore"/>), which share the partition: one
    /// query, so a login waits for one storage round trip before it decides whether to hash. Either may be absent.
    /// </summary>
    public async Task<(UserRecord? User, ThrottleState? Throttle)> FindForLoginAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        UserRecord? user = null;
        ThrottleState? throttle = null;
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}"), cancellationToken: cancellationToken))
        {
            if (row.RowKey == accountKey)
            {
                user = UserEntity.FromRow(row);
            }
            else if (row.RowKey == LoginThrottleStore.RowKey)
            {
                throttle = LoginThrottleStore.FromRow(row);
            }
        }

        return (user, throttle);
    }

    /// <summary>Stores a stronger hash; a concurrent change wins, and the next login upgrades instead.</summary>
    public async Task TryReplacePasswordHashAsync(UserRecord user, string passwordHash, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(UserEntity.From(user with { PasswordHash = passwordHash }), user.ETag, TableUpdateMode.Replace, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // Someone else changed the row first; nothing is lost.
        }
    }

    private sealed class UserEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string UserId { get; set; } = "";
        public string Email { get; set; } = "";
        public string? DisplayName { get; set; }
        public string PasswordHash { get; set; } = "";
        public DateTime CreatedAt { get; set; }
        public bool EmailVerified { get; set; }

        public static UserEntity From(UserRecord user) => new()
        {
            PartitionKey = user.AccountKey,
            RowKey = user.AccountKey,
            UserId = user.Id,
            Email = user.Email,
            DisplayName = user.DisplayName,
            PasswordHash = user.PasswordHash,
            CreatedAt = user.CreatedAt,
            EmailVerified = user.EmailVerified,
        };

        // Rows are read untyped, as the login's query returns the account's row and its throttle row together.
        public static UserRecord FromRow(TableEntity row) => new(
            row.GetString(nameof(UserId)) ?? "", row.PartitionKey, row.GetString(nameof(Email)) ?? "", row.GetString(nameof(DisplayName)),
            row.GetString(nameof(PasswordHash)) ?? "", row.GetDateTimeOffset(nameof(CreatedAt))?.UtcDateTime ?? default)
        {
            EmailVerified = row.GetBoolean(nameof(EmailVerified)) ?? false,
            ETag = row.ETag,
        };
    }
}
