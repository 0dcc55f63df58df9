using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Limits;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Accounts;

public sealed record UserRecord(string Id, string AccountKey, string Email, string? DisplayName, string PasswordHash, DateTime CreatedAt)
{
    public bool EmailVerified { get; init; }

    /// <summary>Two-step sign-in is on (Mfa/): a password is not enough to sign in.</summary>
    public bool MfaEnabled { get; init; }

    public ETag ETag { get; init; }

    /// <summary>False for an account made with a passkey, until a password reset sets one.</summary>
    public bool HasPassword => PasswordHash.Length > 0;
}

/// <summary>
/// The Users table: one partition per email key, holding the account's row (row key = the partition key, so a duplicate
/// signup is a 409 from storage) and every other row of the account.
/// </summary>
public sealed class UserStore(AppTables tables)
{
    public const string EmailVerifiedProperty = nameof(UserEntity.EmailVerified);
    public const string PasswordHashProperty = nameof(UserEntity.PasswordHash);

    /// <summary>
    /// Inserts the account's row together with <paramref name="alongside"/> (other rows of its partition, such as its first
    /// session) in one entity-group transaction: all or nothing, one billed transaction. False when the email is taken.
    /// </summary>
    public async Task<bool> TryAddAsync(UserRecord user, IEnumerable<TableTransactionAction> alongside, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync([new TableTransactionAction(TableTransactionActionType.Add, UserEntity.From(user)), .. alongside], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException exception) when (exception.Status == 409)
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

    /// <summary>
    /// Deletes every row of the account's partition, whatever its kind (throttle, sessions, mail tokens…), in entity-group
    /// batches of at most 100, the account's own row last: until it goes, the email cannot sign up again, so nothing of a new
    /// account can be in the partition. Does nothing when the partition's account is not <paramref name="userId"/>'s (already
    /// deleted, and perhaps signed up again). Safe to repeat and to run twice at once.
    /// </summary>
    public async Task DeleteAccountRowsAsync(string accountKey, string userId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        for (var attempt = 0; attempt < MaxDeleteRounds; attempt++)
        {
            var rows = new List<TableEntity>();
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}"),
                select: DeletionColumns, cancellationToken: cancellationToken))
            {
                rows.Add(row);
            }

            if (rows.Find(row => row.RowKey == accountKey) is not { } account || account.GetString(nameof(UserEntity.UserId)) != userId)
            {
                return;
            }

            var ordered = rows.Where(row => row.RowKey != accountKey).Select(row => row.RowKey).Append(accountKey).ToList();
            try
            {
                foreach (var batch in ordered.Chunk(MaxBatchSize))
                {
                    await table.SubmitTransactionAsync(batch.Select(rowKey =>
                        new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(accountKey, rowKey), ETag.All)), cancellationToken);
                }

                return;
            }
            catch (TableTransactionFailedException exception) when (TableErrors.IsNotFound(exception))
            {
                // A row went meanwhile (a concurrent deletion, a throttle reset): read what is left and go on.
            }
        }

        throw new InvalidOperationException($"The rows of an account could not be deleted in {MaxDeleteRounds} rounds.");
    }

    private const int MaxBatchSize = 100;
    private const int MaxDeleteRounds = 20;
    private static readonly string[] DeletionColumns = ["RowKey", nameof(UserEntity.UserId)];

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

    /// <summary>
    /// Stores a new password hash if the account's row is unchanged since <paramref name="user"/> was read: an action for
    /// an entity-group transaction with the caller's other writes (ending and starting sessions).
    /// </summary>
    public static TableTransactionAction ReplacePasswordHashAction(UserRecord user, string passwordHash) =>
        new(TableTransactionActionType.UpdateReplace, UserEntity.From(user with { PasswordHash = passwordHash }), user.ETag);

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

        public bool EmailVerified { get; set; }
        public bool MfaEnabled { get; set; }
        public DateTime CreatedAt { get; set; }

        public static UserEntity From(UserRecord user) => new()
        {
            PartitionKey = user.AccountKey,
            RowKey = user.AccountKey,
            UserId = user.Id,
            Email = user.Email,
            DisplayName = user.DisplayName,
            PasswordHash = user.PasswordHash,
            EmailVerified = user.EmailVerified,
            MfaEnabled = user.MfaEnabled,
            CreatedAt = user.CreatedAt,
        };

        // Rows are read untyped, as the login's query returns the account's row and its throttle row together.
        public static UserRecord FromRow(TableEntity row) => new(
            row.GetString(nameof(UserId)) ?? "", row.PartitionKey, row.GetString(nameof(Email)) ?? "", row.GetString(nameof(DisplayName)),
            row.GetString(nameof(PasswordHash)) ?? "", row.GetDateTimeOffset(nameof(CreatedAt))?.UtcDateTime ?? default)
        {
            EmailVerified = row.GetBoolean(nameof(EmailVerified)) ?? false,
            MfaEnabled = row.GetBoolean(nameof(MfaEnabled)) ?? false,
            ETag = row.ETag,
        };
    }
}
