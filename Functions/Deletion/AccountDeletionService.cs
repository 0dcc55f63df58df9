using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Deletion;

/// <summary>
/// Account deletion (docs/api.md, <c>DELETE /api/me</c>): the password is checked again, then, in this order, the purge is
/// enqueued (a crash after it loses nothing), the owner marker of the items goes and the pending-purge row comes in the same
/// batch (from then on every item operation of the account fails, whatever token it shows, and the partition itself says it
/// still has to be purged, should the message be lost or poisoned: <see cref="PurgeRecovery"/>), the account's Users
/// partition goes (the email may sign up again), and the items go in the background (<see cref="PurgeAsync"/>), which
/// repeats every step, so any run finishes it; the pending-purge row goes last, with the last items.
/// </summary>
public sealed partial class AccountDeletionService(
    AccountService accounts,
    UserStore users,
    ItemStore items,
    PasskeyService passkeys,
    PasskeyStore passkeyStore,
    PurgeJobs queue,
    PurgeLimits limits,
    TimeProvider clock,
    ILogger<AccountDeletionService> logger)
{
    // One query reads this many row keys; they go in batches of 100 (ItemStore.MaxBatchSize).
    private const int RowsPerRead = 1000;

    public async Task<DeletionOutcome> DeleteAsync(Caller caller, DeleteAccountRequest request, CancellationToken cancellationToken)
    {
        var byPasskey = string.IsNullOrEmpty(request.Password) && request.PasskeyAssertion is { ValueKind: not System.Text.Json.JsonValueKind.Null };
        if (string.IsNullOrEmpty(request.Password) && !byPasskey)
        {
            return WrongPassword("Enter your password (or use a passkey) to delete the account.");
        }

        var proof = byPasskey
            ? await passkeys.ReauthenticateAsync(caller, request.PasskeyAssertion!.Value, cancellationToken)
            : await accounts.ReauthenticateAsync(caller, request.Password!, cancellationToken);
        switch (proof)
        {
            case Reauthentication.AccountGone:
                return new DeletionOutcome.AccountGone();
            case Reauthentication.Throttled throttled:
                return new DeletionOutcome.Throttled(throttled.RetryAfter);
            case Reauthentication.Busy busy:
                return new DeletionOutcome.Busy(busy.RetryAfter);
            case Reauthentication.WrongPassword when byPasskey:
                return new DeletionOutcome.Invalid(new Dictionary<string, string[]>
                {
                    ["passkeyAssertion"] = ["The passkey was not accepted: use a passkey of this account, within 5 minutes of its challenge."],
                });
            case Reauthentication.WrongPassword:
                return WrongPassword("The password is incorrect.");
        }

        var purge = new PurgeMessage(caller.UserId, caller.AccountKey);
        await queue.EnqueueAsync(purge, cancellationToken);
        await items.RetireMarkerAsync(purge.UserId, purge.AccountKey, Now(), cancellationToken);
        // The credential-id claims first: once the partition is gone nothing would lead to them.
        await passkeyStore.ReleaseAllAsync(purge.AccountKey, purge.UserId, cancellationToken);
        await users.DeleteAccountRowsAsync(purge.AccountKey, purge.UserId, cancellationToken);
        LogDeleted(logger, purge.UserId, TraceContext.CurrentTraceId);
        return new DeletionOutcome.Deleted();
    }

    /// <summary>
    /// One run of the background purge: the marker and the Users rows again (a no-op unless the request died before them),
    /// then the items in batches of 100 until none is left, or until the run's budget is spent and a continuation message
    /// is enqueued. The pending-purge row goes in the batch of the last items (alone if that batch is full): once it is gone,
    /// nothing of the account is left. Idempotent: each run starts from what storage still holds, so a run killed half-way
    /// and run again, or two runs at once (a recovered purge racing the original), end with nothing of the account left.
    /// </summary>
    public async Task<PurgeProgress> PurgeAsync(PurgeMessage message, CancellationToken cancellationToken)
    {
        await items.RetireMarkerAsync(message.UserId, message.AccountKey, Now(), cancellationToken);
        await passkeyStore.ReleaseAllAsync(message.AccountKey, message.UserId, cancellationToken);
        await users.DeleteAccountRowsAsync(message.AccountKey, message.UserId, cancellationToken);

        var started = Stopwatch.GetTimestamp();
        var batches = 0;
        var deleted = 0;
        bool WithinBudget() => batches < limits.MaxBatchesPerRun && Stopwatch.GetElapsedTime(started) < limits.TimeBudget;
        while (WithinBudget())
        {
            var (rowKeys, all) = await items.ListRowKeysAsync(message.UserId, RowsPerRead + 1, cancellationToken);
            var rows = rowKeys.Where(rowKey => rowKey != ItemStore.PurgeRowKey).ToList();
            var pendingRow = rows.Count < rowKeys.Count;
            if (rows.Count == 0 && all)
            {
                if (pendingRow && !await items.TryDeleteRowsAsync(message.UserId, [ItemStore.PurgeRowKey], cancellationToken))
                {
                    continue;
                }

                LogPurged(logger, message.UserId, deleted, batches);
                return PurgeProgress.Finished;
            }

            var chunks = rows.Chunk(ItemStore.MaxBatchSize).ToList();
            for (var i = 0; i < chunks.Count; i++)
            {
                // The last rows of the partition take the pending-purge row with them when the batch has room for it.
                var last = all && pendingRow && i == chunks.Count - 1 && chunks[i].Length < ItemStore.MaxBatchSize;
                var batch = last ? [.. chunks[i], ItemStore.PurgeRowKey] : chunks[i];
                if (!WithinBudget() || !await items.TryDeleteRowsAsync(message.UserId, batch, cancellationToken))
                {
                    // Out of budget, or another run deleted some of these first: read again what is left.
                    break;
                }

                batches++;
                deleted += chunks[i].Length;
                if (last)
                {
                    LogPurged(logger, message.UserId, deleted, batches);
                    return PurgeProgress.Finished;
                }
            }
        }

        // Still at it: the recovery leaves this purge alone for another grace period.
        await items.PostponeRecoveryAsync(message.UserId, Now(), cancellationToken);
        await queue.EnqueueAsync(message, cancellationToken);
        LogContinued(logger, message.UserId, deleted, batches);
        return PurgeProgress.Continued;
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static DeletionOutcome.Invalid WrongPassword(string message) =>
        new(new Dictionary<string, string[]> { ["password"] = [message] });

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} deleted their account; items purge enqueued (trace {TraceId})")]
    private static partial void LogDeleted(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purge of user {UserId} finished: {RowCount} rows deleted in {BatchCount} batches by this run")]
    private static partial void LogPurged(ILogger logger, string userId, int rowCount, int batchCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purge of user {UserId} continues: {RowCount} rows deleted in {BatchCount} batches by this run")]
    private static partial void LogContinued(ILogger logger, string userId, int rowCount, int batchCount);
}
