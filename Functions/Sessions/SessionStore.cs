using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Sessions;

/// <summary>
/// One login session: the hash of its current secret and how many rotations it has had, its times, a short client
/// description, and a copy of the owner's profile so that a refresh needs no other read.
/// </summary>
public sealed record SessionRecord(
    string AccountKey, string SessionId, string SecretHash, int Rotations,
    string UserId, string Email, string? DisplayName, DateTime UserCreatedAt, string? Client,
    DateTime CreatedAt, DateTime LastUsedAt, DateTime RotatedAt, DateTime ExpiresAt, DateTime EndsAt)
{
    public ETag ETag { get; init; }

    /// <summary>Whether the owner's email was verified when the session started (or was last refreshed from the account).</summary>
    public bool EmailVerified { get; init; }

    public bool IsActive(DateTime now) => ExpiresAt > now && EndsAt > now;
}

/// <summary>
/// Session rows in the account's partition of the Users table (row key <c>session-</c> + the session id), so listing an
/// account's sessions is one single-partition query, a refresh one point read plus one conditional write, and signup or a
/// password change can write them in the same entity-group transaction as the account's row.
/// </summary>
public sealed class SessionStore(AppTables tables)
{
    public const string RowKeyPrefix = "session-";

    // What one entity-group transaction holds.
    private const int MaxBatchSize = 100;

    // Attempts of EndAllAsync: the last one sends the caller's batch without sessions, so a logout cannot fail it, and ends
    // the sessions it read right after.
    private const int MaxEndAllAttempts = 3;

    // The first string after every "session-…" row key: '.' follows '-' in ASCII.
    private const string RowKeyEnd = "session.";

    public static string RowKeyOf(string sessionId) => RowKeyPrefix + sessionId;

    public static TableTransactionAction InsertAction(SessionRecord session) => new(TableTransactionActionType.Add, SessionEntity.From(session));

    public static TableTransactionAction DeleteAction(SessionRecord session) =>
        new(TableTransactionActionType.Delete, new TableEntity(session.AccountKey, RowKeyOf(session.SessionId)), ETag.All);

    /// <summary>
    /// Adds the session with <paramref name="alongside"/> (other rows of the account's partition) in one entity-group
    /// transaction. Those rows are conditional extras: when one of them no longer matches, the session is added alone.
    /// </summary>
    public async Task AddAsync(SessionRecord session, IReadOnlyList<TableTransactionAction> alongside, CancellationToken cancellationToken)
    {
        if (alongside.Count == 0)
        {
            await AddAsync(session, cancellationToken);
            return;
        }

        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.SubmitTransactionAsync([.. alongside, InsertAction(session)], cancellationToken);
        }
        catch (TableTransactionFailedException exception) when (exception.FailedTransactionActionIndex < alongside.Count)
        {
            // Changed or gone meanwhile (or a resent batch whose first answer was lost): the session still has to land.
            await AddAsync(session, cancellationToken);
        }
    }

    public async Task AddAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.AddEntityAsync(SessionEntity.From(session), cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // Session keys are 128 random bits: a conflict is a resent insert whose first answer was lost.
            if (await FindAsync(session.AccountKey, session.SessionId, cancellationToken) is not { } stored || stored.SecretHash != session.SecretHash)
            {
                throw;
            }
        }
    }

    public async Task<SessionRecord?> FindAsync(string accountKey, string sessionId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<SessionEntity>(accountKey, RowKeyOf(sessionId), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.ToRecord() : null;
    }

    /// <summary>Every session row of the account, ended or not: one single-partition query over the session row keys.</summary>
    public async Task<IReadOnlyList<SessionRecord>> ListAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {accountKey} and RowKey gt {RowKeyPrefix} and RowKey lt {RowKeyEnd}");
        var sessions = new List<SessionRecord>();
        await foreach (var entity in table.QueryAsync<SessionEntity>(filter, cancellationToken: cancellationToken))
        {
            sessions.Add(entity.ToRecord());
        }

        return sessions;
    }

    /// <summary>Replaces the row only if nobody changed it since it was read: false when another request got there first.</summary>
    public async Task<bool> TryReplaceAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.UpdateEntityAsync(SessionEntity.From(session), session.ETag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>Ends one session; false when the account has no such session (any more).</summary>
    public async Task<bool> TryDeleteAsync(string accountKey, string sessionId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            // The SDK answers a delete of a missing entity with its 404 response rather than an exception.
            var response = await table.DeleteEntityAsync(accountKey, RowKeyOf(sessionId), ETag.All, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>
    /// Ends every session of the account in one entity-group transaction with <paramref name="alongside"/> (the caller's
    /// own writes in the account's partition: a new password hash, a spent token, the caller's new session), so no session
    /// outlives them; the sessions beyond what fits in the batch are ended just before it. A session ended by someone else
    /// between the read and the batch (a logout) fails the batch: the sessions are read again and the batch sent again,
    /// and the last attempt sends <paramref name="alongside"/> alone, which no logout can fail, and ends the sessions it read
    /// right after it landed (never before: a caller whose writes fail, e.g. a confirm that lost its token to a parallel
    /// one, must not end the winner's new session).
    /// Returns how many sessions were ended, or null when one of <paramref name="alongside"/> met a concurrent change
    /// (conflict, precondition, gone), so that this batch wrote nothing. With <paramref name="keep"/>, that one session (the
    /// caller's own) is left as it is.
    /// </summary>
    public async Task<int?> EndAllAsync(string accountKey, IReadOnlyList<TableTransactionAction> alongside, CancellationToken cancellationToken,
        string? keep = null)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var last = attempt >= MaxEndAllAttempts;
            var inTheBatch = last ? 0 : MaxBatchSize - alongside.Count;
            var sessions = (await ListAsync(accountKey, cancellationToken)).Where(session => session.SessionId != keep).ToList();
            if (!last)
            {
                await DeleteAsync(sessions.Skip(inTheBatch), cancellationToken);
            }

            List<TableTransactionAction> batch = [.. alongside, .. sessions.Take(inTheBatch).Select(DeleteAction)];
            try
            {
                if (batch.Count > 0)
                {
                    await table.SubmitTransactionAsync(batch, cancellationToken);
                }

                if (last)
                {
                    // Only once the caller's writes landed: a caller that lost (a spent token) must not end sessions,
                    // among them the new session of the request that won.
                    await DeleteAsync(sessions, cancellationToken);
                }

                return sessions.Count;
            }
            catch (TableTransactionFailedException exception) when (IsSessionGone(exception, alongside.Count))
            {
                // Ended meanwhile: read the sessions again (the caller's writes did not land, so nothing is done twice).
            }
            catch (RequestFailedException exception)
                when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
            {
                return null;
            }
        }
    }

    /// <summary>Ends every session of the account ("sign out everywhere"): how many there were.</summary>
    public async Task<int> EndAllAsync(string accountKey, CancellationToken cancellationToken) =>
        // With nothing alongside, nothing but a session can fail a batch, and the last attempt has none in its batch.
        await EndAllAsync(accountKey, [], cancellationToken) ?? 0;

    // The batch's first actions are the caller's; a 404 at one of the deletes after them is a session already ended.
    private static bool IsSessionGone(TableTransactionFailedException exception, int firstSessionIndex) =>
        TableErrors.IsNotFound(exception) && (firstSessionIndex == 0 || exception.FailedTransactionActionIndex >= firstSessionIndex);

    /// <summary>
    /// Ends the given sessions, 100 to an entity-group transaction; one that another request ended meanwhile fails its
    /// batch, whose rows are then deleted one by one. Idempotent.
    /// </summary>
    private async Task DeleteAsync(IEnumerable<SessionRecord> sessions, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        foreach (var chunk in sessions.Chunk(MaxBatchSize))
        {
            try
            {
                await table.SubmitTransactionAsync(chunk.Select(DeleteAction), cancellationToken);
            }
            catch (TableTransactionFailedException exception) when (exception.Status == 404)
            {
                foreach (var session in chunk)
                {
                    await TryDeleteAsync(session.AccountKey, session.SessionId, cancellationToken);
                }
            }
        }
    }

    private sealed class SessionEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string SecretHash { get; set; } = "";
        public int Rotations { get; set; }
        public string UserId { get; set; } = "";
        public string Email { get; set; } = "";
        public string? DisplayName { get; set; }
        public DateTime UserCreatedAt { get; set; }
        public string? Client { get; set; }
        public DateTime CreatedAt { get; set; }
        public DateTime LastUsedAt { get; set; }
        public DateTime RotatedAt { get; set; }

        /// <summary>When the row may be deleted: the cleanup (<c>ExpiredRowsCleanup</c>) looks for this property.</summary>
        public DateTime ExpiresAt { get; set; }

        public DateTime EndsAt { get; set; }

        public bool EmailVerified { get; set; }

        public static SessionEntity From(SessionRecord session) => new()
        {
            PartitionKey = session.AccountKey,
            RowKey = RowKeyOf(session.SessionId),
            ETag = session.ETag,
            SecretHash = session.SecretHash,
            Rotations = session.Rotations,
            UserId = session.UserId,
            Email = session.Email,
            DisplayName = session.DisplayName,
            UserCreatedAt = session.UserCreatedAt,
            Client = session.Client,
            CreatedAt = session.CreatedAt,
            LastUsedAt = session.LastUsedAt,
            RotatedAt = session.RotatedAt,
            ExpiresAt = session.ExpiresAt,
            EndsAt = session.EndsAt,
            EmailVerified = session.EmailVerified,
        };

        public SessionRecord ToRecord() => new(
            PartitionKey, RowKey[RowKeyPrefix.Length..], SecretHash, Rotations, UserId, Email, DisplayName, Utc(UserCreatedAt), Client,
            Utc(CreatedAt), Utc(LastUsedAt), Utc(RotatedAt), Utc(ExpiresAt), Utc(EndsAt)) { ETag = ETag, EmailVerified = EmailVerified };

        private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);
    }
}
