using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Mail;

/// <summary>A mail about to be sent: the token's secret lives only here, in memory; storage holds its hash.</summary>
public sealed record PendingMail(string AccountKey, string OutboxRowKey, MailPurpose Purpose, string To, MailToken Token, DateTime ExpiresAt)
{
    public string TokenRowKey => Token.RowKey(Purpose);

    /// <summary>When the mail was first stored: its outbox row keeps it, and its marker's key is made of it (<see cref="OutboxStore.MarkerFor"/>).</summary>
    public DateTime CreatedAt { get; init; }

    /// <summary>Where the drainer finds it, when a marker was written (a signup's mail has none until its send fails); removed once the mail is sent.</summary>
    public OutboxMarker? Marker { get; init; }

    /// <summary>The one marker this mail's outbox row can have, written or not.</summary>
    public OutboxMarker MarkerKey => OutboxStore.MarkerFor(CreatedAt, AccountKey, OutboxRowKey);
}

/// <summary>A token row: the hash is its row key; it is spent by deleting it with its ETag.</summary>
public sealed record StoredToken(string AccountKey, string RowKey, DateTime ExpiresAt, ETag ETag);

/// <summary>
/// An outbox row: a mail that must still go out, with the row key of its current token, its retry state and when it was
/// first stored (<see cref="CreatedAt"/>; rows written before it was kept fall back to <see cref="NextAttemptAt"/>).
/// </summary>
public sealed record OutboxEntry(string AccountKey, string RowKey, MailPurpose Purpose, string To, string TokenRowKey, int Attempts, DateTime NextAttemptAt, ETag ETag)
{
    public DateTime CreatedAt { get; init; }

    /// <summary>The one marker this row can have (<see cref="OutboxStore.MarkerFor"/>), whether or not it exists.</summary>
    public OutboxMarker MarkerKey => OutboxStore.MarkerFor(CreatedAt, AccountKey, RowKey);
}

/// <summary>A per-account mail limit: how many mails since the window started (verification: the last one).</summary>
public sealed record MailLimit(int Count, DateTime WindowStart)
{
    public ETag ETag { get; init; }
}

/// <summary>
/// The mail rows in the account's partition of the Users table (beside the account row, <see cref="UserStore"/>):
/// token rows (<c>mailtoken-…</c>), outbox rows (<c>mailoutbox-…</c>) and limit rows (<c>maillimit-…</c>). Rows that
/// belong together are written in one entity-group batch: one billed transaction, all or nothing.
/// </summary>
public sealed class MailStore(AppTables tables)
{
    public const string OutboxPrefix = "mailoutbox-";

    public static string LimitRowKey(MailPurpose purpose) => $"{LimitRowKeyPrefix}{purpose.ToString().ToLowerInvariant()}";

    /// <summary>What every mail limit row's key starts with (the cleanup timer's range).</summary>
    public const string LimitRowKeyPrefix = "maillimit-";

    /// <summary>After this long without a new window a limit row limits nothing (the reset window; verification's is shorter).</summary>
    public static readonly TimeSpan LongestLimitWindow = MailService.ResetWindow;

    /// <summary>The rows a new mail adds: its token's hash and its outbox row.</summary>
    public static IEnumerable<ITableEntity> RowsOf(PendingMail mail, DateTime now) =>
    [
        new TableEntity(mail.AccountKey, mail.TokenRowKey) { ["ExpiresAt"] = mail.ExpiresAt },
        OutboxRow(mail.AccountKey, mail.OutboxRowKey, mail.Purpose, mail.To, mail.TokenRowKey, attempts: 0, nextAttemptAt: now, mail.CreatedAt),
    ];

    public static ITableEntity LimitRow(string accountKey, MailPurpose purpose, MailLimit limit) =>
        new TableEntity(accountKey, LimitRowKey(purpose)) { ["Count"] = limit.Count, ["WindowStart"] = limit.WindowStart, ETag = limit.ETag };

    /// <summary>The account's row and the named rows of its partition, with one query.</summary>
    public async Task<(UserRecord? User, IReadOnlyDictionary<string, TableEntity> Rows)> ReadAsync(
        string accountKey, IEnumerable<string> rowKeys, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var rowFilter = string.Join(" or ", rowKeys.Prepend(accountKey).Select(key => TableClient.CreateQueryFilter($"RowKey eq {key}")));
        var filter = $"{TableClient.CreateQueryFilter($"PartitionKey eq {accountKey}")} and ({rowFilter})";
        UserRecord? user = null;
        var rows = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == accountKey)
            {
                user = UserStore.FromRow(row);
            }
            else
            {
                rows[row.RowKey] = row;
            }
        }

        return (user, rows);
    }

    public static MailLimit? LimitOf(IReadOnlyDictionary<string, TableEntity> rows, MailPurpose purpose) =>
        rows.TryGetValue(LimitRowKey(purpose), out var row)
            ? new MailLimit(row.GetInt32("Count") ?? 0, row.GetDateTimeOffset("WindowStart")?.UtcDateTime ?? default) { ETag = row.ETag }
            : null;

    public static StoredToken? TokenOf(IReadOnlyDictionary<string, TableEntity> rows, string rowKey) =>
        rows.TryGetValue(rowKey, out var row) ? ToToken(row) : null;

    /// <summary>
    /// Moves the limit from <paramref name="read"/> (absent when null) to <paramref name="next"/> and, when there is one,
    /// stores <paramref name="mail"/>, in one batch; false when another request changed the limit first.
    /// </summary>
    public async Task<bool> TryCommitAsync(string accountKey, MailPurpose purpose, MailLimit? read, MailLimit next, PendingMail? mail,
        DateTime now, CancellationToken cancellationToken)
    {
        var limitRow = LimitRow(accountKey, purpose, next with { ETag = read?.ETag ?? default });
        List<TableTransactionAction> actions =
        [
            read is null ? new(TableTransactionActionType.Add, limitRow) : new(TableTransactionActionType.UpdateReplace, limitRow, read.ETag),
            .. mail is null ? [] : RowsOf(mail, now).Select(row => new TableTransactionAction(TableTransactionActionType.Add, row)),
        ];
        return await TrySubmitAsync(actions, cancellationToken);
    }

    /// <summary>
    /// Spends the token and marks the account's email verified, in one batch: of any number of concurrent attempts with
    /// one token, exactly one gets true.
    /// </summary>
    public async Task<bool> TrySpendAsync(StoredToken token, CancellationToken cancellationToken) =>
        await TrySubmitAsync(SpendActions(token, newPasswordHash: null), cancellationToken);

    /// <summary>
    /// The actions that spend the token (a delete on its ETag: of any number of concurrent batches holding them, at most
    /// one lands) and mark the account's email verified, with a new password hash for a reset, which also passes the
    /// account row's ETag as read (the sign-in it decides on depends on that row).
    /// </summary>
    public static IReadOnlyList<TableTransactionAction> SpendActions(StoredToken token, string? newPasswordHash, ETag accountETag = default)
    {
        var account = new TableEntity(token.AccountKey, token.AccountKey) { [UserStore.EmailVerifiedProperty] = true };
        if (newPasswordHash is not null)
        {
            account[UserStore.PasswordHashProperty] = newPasswordHash;
        }

        return
        [
            new(TableTransactionActionType.Delete, new TableEntity(token.AccountKey, token.RowKey), token.ETag),
            new(TableTransactionActionType.UpdateMerge, account, accountETag == default ? ETag.All : accountETag),
        ];
    }

    public async Task<(OutboxEntry? Entry, StoredToken? Token)> ReadOutboxAsync(string accountKey, string outboxRowKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var outbox = await table.GetEntityIfExistsAsync<TableEntity>(accountKey, outboxRowKey, cancellationToken: cancellationToken);
        if (!outbox.HasValue)
        {
            return (null, null);
        }

        var entry = ToOutbox(outbox.Value!);
        var token = await table.GetEntityIfExistsAsync<TableEntity>(accountKey, entry.TokenRowKey, cancellationToken: cancellationToken);
        return (entry, token.HasValue ? ToToken(token.Value!) : null);
    }

    /// <summary>A new token for a mail that did not go out (its secret is gone), and the attempt counted; false if raced.</summary>
    public async Task<bool> TryReissueAsync(OutboxEntry entry, StoredToken old, PendingMail next, DateTime nextAttemptAt, CancellationToken cancellationToken) =>
        await TrySubmitAsync(
            [
                new(TableTransactionActionType.Delete, new TableEntity(old.AccountKey, old.RowKey), old.ETag),
                new(TableTransactionActionType.Add, new TableEntity(next.AccountKey, next.TokenRowKey) { ["ExpiresAt"] = next.ExpiresAt }),
                new(TableTransactionActionType.UpdateReplace,
                    OutboxRow(entry.AccountKey, entry.RowKey, entry.Purpose, entry.To, next.TokenRowKey, entry.Attempts + 1, nextAttemptAt, entry.CreatedAt),
                    entry.ETag),
            ],
            cancellationToken);

    /// <summary>Removes an outbox row, and its token when given (a mail given up on); already gone is fine.</summary>
    public async Task DeleteOutboxAsync(string accountKey, string outboxRowKey, StoredToken? token, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        await DeleteIfExistsAsync(table, accountKey, outboxRowKey, cancellationToken);
        if (token is not null)
        {
            await DeleteIfExistsAsync(table, accountKey, token.RowKey, cancellationToken);
        }
    }

    /// <summary>
    /// Removes a mail given up on, its outbox row and its token (when there is one) in one batch, each under the ETag it was
    /// read with: false when either changed or went meanwhile (another run dropped or sent it), so a row is dropped once.
    /// </summary>
    public async Task<bool> TryDropOutboxAsync(OutboxEntry entry, StoredToken? token, CancellationToken cancellationToken) =>
        await TrySubmitAsync(
            [
                new(TableTransactionActionType.Delete, new TableEntity(entry.AccountKey, entry.RowKey), entry.ETag),
                .. token is null ? [] : new[] { new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(token.AccountKey, token.RowKey), token.ETag) },
            ],
            cancellationToken);

    private static async Task DeleteIfExistsAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            // Already gone.
        }
    }

    private async Task<bool> TrySubmitAsync(IReadOnlyList<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(actions, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception)
            when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    private static TableEntity OutboxRow(string accountKey, string rowKey, MailPurpose purpose, string to, string tokenRowKey, int attempts,
        DateTime nextAttemptAt, DateTime createdAt) =>
        new(accountKey, rowKey)
        {
            ["Purpose"] = purpose.ToString(),
            ["To"] = to,
            ["TokenRowKey"] = tokenRowKey,
            ["Attempts"] = attempts,
            [NextAttemptAtProperty] = nextAttemptAt,
            ["CreatedAt"] = createdAt,
        };

    /// <summary>The outbox row's property the recovery's filter reads: when the row's next attempt was due.</summary>
    public const string NextAttemptAtProperty = "NextAttemptAt";

    private static OutboxEntry ToOutbox(TableEntity row)
    {
        var nextAttemptAt = row.GetDateTimeOffset(NextAttemptAtProperty)?.UtcDateTime ?? default;
        return new(
            row.PartitionKey, row.RowKey, Enum.Parse<MailPurpose>(row.GetString("Purpose") ?? nameof(MailPurpose.Verify)), row.GetString("To") ?? "",
            row.GetString("TokenRowKey") ?? "", row.GetInt32("Attempts") ?? 0, nextAttemptAt, row.ETag)
        {
            CreatedAt = row.GetDateTimeOffset("CreatedAt")?.UtcDateTime ?? nextAttemptAt,
        };
    }

    private static StoredToken ToToken(TableEntity row) =>
        new(row.PartitionKey, row.RowKey, row.GetDateTimeOffset("ExpiresAt")?.UtcDateTime ?? default, row.ETag);
}
