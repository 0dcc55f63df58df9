using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Cleanup;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Passkeys;

/// <summary>
/// A challenge as stored: who asked for it (the account of a registration; the email and display name of a passkey signup)
/// and, for the creation ceremonies, the options the browser was given, which the answer is verified against.
/// </summary>
public sealed record ChallengeRecord(PasskeyChallenge Challenge, string? UserId, string? AccountKey, string? Email, string? DisplayName, string? Options);

/// <summary>
/// The PasskeyChallenges table. PartitionKey = the 5-minute bucket of the issue time (<c>yyyyMMddHHmm</c>), so the cleanup
/// deletes whole old partitions, found by one range query on PartitionKey, and a client's challenge leads to its row
/// without a search; RowKey = the purpose and the SHA-256 of the challenge. A challenge is used by deleting its row: only
/// one request can get the delete's 204, and a 404 means used, expired and cleaned, or never issued.
/// </summary>
public sealed class ChallengeStore(AppTables tables)
{
    private static readonly TimeSpan Bucket = TimeSpan.FromMinutes(5);

    public async Task AddAsync(ChallengeRecord record, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyChallenges, cancellationToken);
        var challenge = record.Challenge;
        await table.AddEntityAsync(new TableEntity(PartitionOf(challenge.IssuedAt), RowKeyOf(challenge))
        {
            ["IssuedAt"] = challenge.IssuedAt,
            ["UserId"] = record.UserId,
            ["AccountKey"] = record.AccountKey,
            ["Email"] = record.Email,
            ["DisplayName"] = record.DisplayName,
            ["Options"] = record.Options,
        }, cancellationToken);
    }

    /// <summary>The stored challenge of a creation ceremony, read before it is used (its options are needed to verify the answer).</summary>
    public async Task<ChallengeRecord?> FindAsync(PasskeyChallenge challenge, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyChallenges, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionOf(challenge.IssuedAt), RowKeyOf(challenge), cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }

        var row = response.Value!;
        return new ChallengeRecord(challenge, row.GetString("UserId"), row.GetString("AccountKey"), row.GetString("Email"),
            row.GetString("DisplayName"), row.GetString("Options"));
    }

    /// <summary>Uses the challenge up: true for exactly one caller, false when it was already used or never issued.</summary>
    public async Task<bool> TryConsumeAsync(PasskeyChallenge challenge, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyChallenges, cancellationToken);
        var response = await table.DeleteEntityAsync(PartitionOf(challenge.IssuedAt), RowKeyOf(challenge), ETag.All, cancellationToken);
        return response.Status != 404;
    }

    /// <summary>
    /// Deletes the rows of every bucket that ended more than a challenge's lifetime ago: one range query on PartitionKey (it
    /// reads only expired rows), then entity-group deletes of up to 100 rows per partition. Returns how many expired rows
    /// it found (at most <paramref name="maxRows"/>) and how many of them it deleted (the rest were used meanwhile).
    /// </summary>
    public async Task<(int Found, int Deleted)> DeleteExpiredAsync(DateTime now, int maxRows, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.PasskeyChallenges, cancellationToken);
        // A bucket's last challenge expires a lifetime (plus the clock skew allowed) after the bucket ends.
        var lastExpired = PartitionOf(now - Bucket - PasskeyOptions.ChallengeLifetime - PasskeyChallenge.ClockSkew);
        var sweep = await ExpiredRowDeletes.FindAndDeleteAsync(table, TableClient.CreateQueryFilter($"PartitionKey le {lastExpired}"), maxRows, cancellationToken);
        return (sweep.Found.Count, sweep.Deleted.Count);
    }

    public static string PartitionOf(DateTime issuedAt)
    {
        var start = new DateTime(issuedAt.Ticks - (issuedAt.Ticks % Bucket.Ticks), DateTimeKind.Utc);
        return start.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);
    }

    private static string RowKeyOf(PasskeyChallenge challenge) => challenge.Purpose switch
    {
        CeremonyPurpose.Register => "register-",
        CeremonyPurpose.SignIn => "signin-",
        _ => "signup-",
    } + challenge.Hash;
}
