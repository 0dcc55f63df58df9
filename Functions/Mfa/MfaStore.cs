using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Mfa;

/// <summary>Two-step sign-in as it is on: the encrypted secret, the last step accepted (replay), the recovery codes' hashes.</summary>
public sealed record TotpState(string ProtectedSecret, long LastStep, IReadOnlyList<string> RecoveryHashes, ETag ETag);

/// <summary>An enrolment not confirmed yet: its encrypted secret, until it expires.</summary>
public sealed record PendingTotp(string ProtectedSecret, DateTime ExpiresAt, ETag ETag);

/// <summary>A stored mfa token: when it expires and the password check it followed (a hash of the password hash then).</summary>
public sealed record StoredMfaToken(string RowKey, DateTime ExpiresAt, string PasswordStamp, ETag ETag);

/// <summary>
/// The rows of two-step sign-in, all in the account's own partition of Users beside its row (<see cref="UserStore"/>):
/// <c>mfa-totp</c> (on), <c>mfa-pending</c> (an enrolment, expires) and <c>mfatoken-…</c> (a sign-in's second step,
/// expires, deleted when used). The account row's <c>MfaEnabled</c> says whether it is on, so every sign-in path that
/// reads the account knows without another read. No other table, no global partition; deleting the partition deletes them.
/// </summary>
public sealed class MfaStore(AppTables tables)
{
    public const string TotpRowKey = "mfa-totp";
    public const string PendingRowKey = "mfa-pending";
    public const string MfaEnabledProperty = "MfaEnabled";

    /// <summary>How long an enrolment waits for its confirming code.</summary>
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long a sign-in's mfa token works (docs/api.md: 5 minutes).</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>The account's row and the named rows of its partition, with one single-partition query.</summary>
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

    public static TotpState? TotpOf(IReadOnlyDictionary<string, TableEntity> rows) =>
        rows.TryGetValue(TotpRowKey, out var row)
            ? new TotpState(row.GetString("Secret") ?? "", row.GetInt64("LastStep") ?? 0,
                (row.GetString("RecoveryCodes") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), row.ETag)
            : null;

    public static PendingTotp? PendingOf(IReadOnlyDictionary<string, TableEntity> rows) =>
        rows.TryGetValue(PendingRowKey, out var row)
            ? new PendingTotp(row.GetString("Secret") ?? "", row.GetDateTimeOffset("ExpiresAt")?.UtcDateTime ?? default, row.ETag)
            : null;

    public static StoredMfaToken? TokenOf(IReadOnlyDictionary<string, TableEntity> rows, string rowKey) =>
        rows.TryGetValue(rowKey, out var row)
            ? new StoredMfaToken(rowKey, row.GetDateTimeOffset("ExpiresAt")?.UtcDateTime ?? default, row.GetString("PasswordStamp") ?? "", row.ETag)
            : null;

    /// <summary>A new enrolment replaces any earlier one not confirmed.</summary>
    public static TableTransactionAction PutPendingAction(string accountKey, string protectedSecret, DateTime expiresAt) =>
        new(TableTransactionActionType.UpsertReplace, new TableEntity(accountKey, PendingRowKey) { ["Secret"] = protectedSecret, ["ExpiresAt"] = expiresAt });

    /// <summary>Turns it on: the enrolment goes (under its ETag: of two confirms one wins), the settings row comes (refused if it is on already), the account row says so.</summary>
    public static IReadOnlyList<TableTransactionAction> EnableActions(string accountKey, PendingTotp pending, string protectedSecret, long step,
        IReadOnlyList<string> recoveryHashes, DateTime now) =>
    [
        new(TableTransactionActionType.Delete, new TableEntity(accountKey, PendingRowKey), pending.ETag),
        new(TableTransactionActionType.Add, TotpRow(accountKey, protectedSecret, step, recoveryHashes, now)),
        AccountFlagAction(accountKey, enabled: true),
    ];

    /// <summary>Turns it off: the settings row goes under the ETag it was checked with, the account row says so.</summary>
    public static IReadOnlyList<TableTransactionAction> DisableActions(string accountKey, TotpState state) =>
    [
        new(TableTransactionActionType.Delete, new TableEntity(accountKey, TotpRowKey), state.ETag),
        AccountFlagAction(accountKey, enabled: false),
    ];

    /// <summary>
    /// The settings row after a second factor was accepted, under the ETag it was read with, so of two requests with the same
    /// code (or recovery code) one lands: the step now last, the recovery codes left, the secret (encrypted again after a key rotation).
    /// </summary>
    public static TableTransactionAction UpdateTotpAction(string accountKey, TotpState state) =>
        new(TableTransactionActionType.UpdateMerge, new TableEntity(accountKey, TotpRowKey)
        {
            ["Secret"] = state.ProtectedSecret,
            ["LastStep"] = state.LastStep,
            ["RecoveryCodes"] = string.Join(' ', state.RecoveryHashes),
        }, state.ETag);

    public static TableTransactionAction InsertTokenAction(string accountKey, MfaToken token, DateTime expiresAt, string passwordStamp) =>
        new(TableTransactionActionType.Add, new TableEntity(accountKey, token.RowKey) { ["ExpiresAt"] = expiresAt, ["PasswordStamp"] = passwordStamp });

    /// <summary>Spends a token: a delete under its ETag, so of any number of requests holding it one batch lands.</summary>
    public static TableTransactionAction SpendTokenAction(string accountKey, StoredMfaToken token) =>
        new(TableTransactionActionType.Delete, new TableEntity(accountKey, token.RowKey), token.ETag);

    public async Task AddTokenAsync(TableTransactionAction insert, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        await table.SubmitTransactionAsync([insert], cancellationToken);
    }

    /// <summary>
    /// One entity-group transaction of <paramref name="required"/>, and <paramref name="optional"/> after them when given
    /// (a throttle clear, which a reservation made meanwhile refuses: then the batch goes again without it). False when one of
    /// the required actions met a concurrent change, so that nothing was written.
    /// </summary>
    public async Task<bool> TrySubmitAsync(IReadOnlyList<TableTransactionAction> required, TableTransactionAction? optional, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(optional is null ? required : [.. required, optional], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException exception) when (optional is not null && exception.FailedTransactionActionIndex == required.Count)
        {
            return await TrySubmitAsync(required, null, cancellationToken);
        }
        catch (RequestFailedException exception)
            when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    private static TableEntity TotpRow(string accountKey, string protectedSecret, long step, IReadOnlyList<string> recoveryHashes, DateTime now) =>
        new(accountKey, TotpRowKey)
        {
            ["Secret"] = protectedSecret,
            ["LastStep"] = step,
            ["RecoveryCodes"] = string.Join(' ', recoveryHashes),
            ["EnabledAt"] = now,
        };

    private static TableTransactionAction AccountFlagAction(string accountKey, bool enabled) =>
        new(TableTransactionActionType.UpdateMerge, new TableEntity(accountKey, accountKey) { [MfaEnabledProperty] = enabled }, ETag.All);
}
