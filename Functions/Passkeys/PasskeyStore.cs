// Slightly over ~300 lines: the passkey rows and the credential-id claims change together in each operation, so they
// stay in one store.
using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Passkeys;

/// <summary>
/// One passkey of an account. <see cref="Id"/> is the SHA-256 of the credential id (base64url): the id in URLs and row
/// keys, safe in logs; the raw credential id is kept only to tell the browser which credentials an account already has.
/// </summary>
public sealed record PasskeyRecord(
    string AccountKey, string Id, string UserId, byte[] CredentialId, byte[] PublicKey, uint SignCount, string Name,
    DateTime CreatedAt, DateTime? LastUsedAt)
{
    public ETag ETag { get; init; }

    public static string IdOf(ReadOnlySpan<byte> credentialId) => Base64Url.Encode(SHA256.HashData(credentialId));
}

/// <summary>What storing a new passkey came to.</summary>
public enum PasskeyAdded
{
    Added,

    /// <summary>The account was deleted meanwhile.</summary>
    AccountGone,

    /// <summary>The account has this credential already.</summary>
    AlreadyThere,
}

/// <summary>
/// Passkeys live in two places. The credential row sits in the account's partition of Users (row key <c>passkey-</c> +
/// its <see cref="PasskeyRecord.Id"/>), so a sign-in reads the account and the credential with one query and writes the
/// new signature counter and the session in one batch, and account deletion removes it with the partition. The PasskeyIds
/// table (PartitionKey = the same id, RowKey <c>claim</c>) holds one row per credential id across all accounts: inserting it is
/// how a registration claims the id, so the same credential can never belong to two accounts.
/// </summary>
public sealed class PasskeyStore(AppTables tables)
{
    public const string RowKeyPrefix = "passkey-";

    /// <summary>The row key of a credential id's claim in PasskeyIds (the partition key is the id).</summary>
    public const string ClaimRowKey = "claim";

    // The first string after every "passkey-…" row key: '.' follows '-' in ASCII.
    private const string RowKeyEnd = "passkey.";

    public static string RowKeyOf(string id) => RowKeyPrefix + id;

    /// <summary>The account's row and one of its credential rows, in one query (a sign-in's only read). Either may be absent.</summary>
    public async Task<(UserRecord? User, PasskeyRecord? Passkey)> FindForSignInAsync(string accountKey, string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {accountKey} and (RowKey eq {accountKey} or RowKey eq {RowKeyOf(id)})");
        UserRecord? user = null;
        PasskeyRecord? passkey = null;
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == accountKey)
            {
                user = UserStore.FromRow(row);
            }
            else
            {
                passkey = FromRow(row);
            }
        }

        return (user, passkey);
    }

    /// <summary>The account's row and every credential row of its partition, in one query.</summary>
    public async Task<(UserRecord? User, IReadOnlyList<PasskeyRecord> Passkeys)> ListAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {accountKey} and (RowKey eq {accountKey} or (RowKey gt {RowKeyPrefix} and RowKey lt {RowKeyEnd}))");
        UserRecord? user = null;
        var passkeys = new List<PasskeyRecord>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == accountKey)
            {
                user = UserStore.FromRow(row);
            }
            else
            {
                passkeys.Add(FromRow(row));
            }
        }

        return (user, passkeys);
    }

    /// <summary>Whether a credential id is already claimed, by any account (registration's uniqueness check, one point read).</summary>
    public async Task<bool> IsClaimedAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyIds, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(id, ClaimRowKey, select: ["UserId"], cancellationToken: cancellationToken);
        return response.HasValue;
    }

    /// <summary>
    /// Claims a credential id for <paramref name="userId"/>: false when another account holds it. A claim already this
    /// account's is true (a retried insert whose first answer was lost; the passkey row's insert then decides a duplicate).
    /// A claim is taken over only when it is abandoned: older than <see cref="AbandonedClaimAge"/> and its owner has no
    /// such passkey any more (a deletion that stopped before releasing it), and then only if unchanged since read.
    /// </summary>
    public async Task<bool> TryClaimAsync(string id, string userId, string accountKey, DateTime now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyIds, cancellationToken);
        var claim = new TableEntity(id, ClaimRowKey) { ["UserId"] = userId, ["AccountKey"] = accountKey, ["ClaimedAt"] = now };
        try
        {
            await table.AddEntityAsync(claim, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // Held already: by whom, and is it still in use?
        }

        var response = await table.GetEntityIfExistsAsync<TableEntity>(id, ClaimRowKey, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return false;
        }

        var held = response.Value!;
        if (held.GetString("UserId") == userId)
        {
            return true;
        }

        if (now - (held.GetDateTimeOffset("ClaimedAt")?.UtcDateTime ?? now) < AbandonedClaimAge
            || await OwnerHasPasskeyAsync(held.GetString("AccountKey") ?? "", held.GetString("UserId") ?? "", id, cancellationToken))
        {
            return false;
        }

        try
        {
            await table.UpdateEntityAsync(claim, held.ETag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>How old a claim without its passkey must be before another registration may take it over: far longer than a registration takes.</summary>
    public static readonly TimeSpan AbandonedClaimAge = TimeSpan.FromMinutes(10);

    private async Task<bool> OwnerHasPasskeyAsync(string accountKey, string userId, string id, CancellationToken cancellationToken)
    {
        if (accountKey.Length == 0)
        {
            return false;
        }

        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(accountKey, RowKeyOf(id), select: ["UserId"], cancellationToken: cancellationToken);
        return row.HasValue && row.Value!.GetString("UserId") == userId;
    }

    /// <summary>Gives up a claim, if it is still <paramref name="userId"/>'s.</summary>
    public async Task ReleaseAsync(string id, string userId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyIds, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(id, ClaimRowKey, cancellationToken: cancellationToken);
        if (!response.HasValue || response.Value!.GetString("UserId") != userId)
        {
            return;
        }

        try
        {
            await table.DeleteEntityAsync(id, ClaimRowKey, response.Value.ETag, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception))
        {
            // Changed since the read: no longer ours.
        }
    }

    /// <summary>
    /// Stores a new credential row, with a no-op merge of the account's row in the same batch: if the account was deleted
    /// meanwhile the batch fails (<see cref="PasskeyAdded.AccountGone"/>) and no credential outlives its account.
    /// </summary>
    public async Task<PasskeyAdded> TryAddAsync(PasskeyRecord passkey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(passkey.AccountKey, passkey.AccountKey), ETag.All),
                InsertAction(passkey),
            ], cancellationToken);
            return PasskeyAdded.Added;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 409)
        {
            return exception.Status == 404 ? PasskeyAdded.AccountGone : PasskeyAdded.AlreadyThere;
        }
    }

    public static TableTransactionAction InsertAction(PasskeyRecord passkey) => new(TableTransactionActionType.Add, ToRow(passkey));

    /// <summary>The sign-in's write of the new counter, conditional on the row being unchanged since it was read.</summary>
    public static TableTransactionAction UseAction(PasskeyRecord passkey, uint signCount, DateTime now) =>
        new(TableTransactionActionType.UpdateMerge,
            new TableEntity(passkey.AccountKey, RowKeyOf(passkey.Id)) { ["SignCount"] = (long)signCount, ["LastUsedAt"] = now },
            passkey.ETag);

    /// <summary>
    /// A sign-in's one write: the new signature counter, conditional on the credential row being as it was read, and the
    /// new session, in one entity-group transaction. False when the row changed (a parallel sign-in with the same passkey
    /// won) or went; nothing is written then.
    /// </summary>
    public async Task<bool> TryCommitSignInAsync(PasskeyRecord passkey, uint signCount, DateTime now, Sessions.SessionRecord session,
        CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync([UseAction(passkey, signCount, now), Sessions.SessionStore.InsertAction(session)], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Records a use outside a sign-in (a passkey proving the account again); a concurrent change wins.</summary>
    public async Task TryRecordUseAsync(PasskeyRecord passkey, uint signCount, DateTime now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync([UseAction(passkey, signCount, now)], cancellationToken);
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 412)
        {
            // Used or deleted meanwhile: the assertion was still this account's, and its challenge is spent.
        }
    }

    /// <summary>Renames a passkey; false when it is gone.</summary>
    public async Task<bool> TryRenameAsync(PasskeyRecord passkey, string name, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(new TableEntity(passkey.AccountKey, RowKeyOf(passkey.Id)) { ["Name"] = name }, ETag.All,
                TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes a credential row in one batch with a merge of the account's row under the ETag it was read with: of two
    /// deletions decided on the same read (each thinking another way in remains), only one lands. False when the account
    /// changed or the passkey is gone; the caller reads again.
    /// </summary>
    public async Task<bool> TryDeleteAsync(UserRecord account, PasskeyRecord passkey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(account.AccountKey, account.AccountKey), account.ETag),
                new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(passkey.AccountKey, RowKeyOf(passkey.Id)), ETag.All),
            ], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Releases every credential id the account's partition holds for <paramref name="userId"/> (account deletion, before its rows go).</summary>
    public async Task ReleaseAllAsync(string accountKey, string userId, CancellationToken cancellationToken)
    {
        var (_, passkeys) = await ListAsync(accountKey, cancellationToken);
        foreach (var passkey in passkeys.Where(passkey => passkey.UserId == userId))
        {
            await ReleaseAsync(passkey.Id, userId, cancellationToken);
        }
    }

    private static TableEntity ToRow(PasskeyRecord passkey) => new(passkey.AccountKey, RowKeyOf(passkey.Id))
    {
        ["UserId"] = passkey.UserId,
        ["CredentialId"] = passkey.CredentialId,
        ["PublicKey"] = passkey.PublicKey,
        ["SignCount"] = (long)passkey.SignCount,
        ["Name"] = passkey.Name,
        ["CreatedAt"] = passkey.CreatedAt,
        ["LastUsedAt"] = passkey.LastUsedAt,
    };

    private static PasskeyRecord FromRow(TableEntity row) => new(
        row.PartitionKey, row.RowKey[RowKeyPrefix.Length..], row.GetString("UserId") ?? "", row.GetBinary("CredentialId") ?? [],
        row.GetBinary("PublicKey") ?? [], (uint)Math.Clamp(row.GetInt64("SignCount") ?? 0, 0, uint.MaxValue), row.GetString("Name") ?? "",
        row.GetDateTimeOffset("CreatedAt")?.UtcDateTime ?? default, row.GetDateTimeOffset("LastUsedAt")?.UtcDateTime)
    {
        ETag = row.ETag,
    };
}
