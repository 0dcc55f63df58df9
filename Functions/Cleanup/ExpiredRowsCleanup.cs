using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Mfa;
using Serverless.Functions.Passkeys;
using Serverless.Functions.Sessions;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Cleanup;

/// <summary>One kind of row that expires: its name for the logs, and the filter that finds its expired rows at a time.</summary>
public sealed record ExpiringRows(string Kind, Func<DateTime, FormattableString> ExpiredAt);

/// <summary>What one cleanup run found and removed, per kind of row, and how many stuck outbox rows it marked again for the drainer.</summary>
public sealed record CleanupReport(int Scanned, int Deleted, int Kept, int Partitions, bool Complete, IReadOnlyDictionary<string, int> DeletedByKind,
    int OutboxMarked = 0);

/// <summary>
/// Deletes expired rows of the Users table: sessions past their expiry, throttle rows whose window is over (and any kind
/// added to <see cref="Kinds"/>, such as mail tokens or ceremony challenges). Expired rows are found by one filtered
/// query over the table, a scan that Table Storage bills by the page (docs/performance.md): acceptable for an hourly
/// background run, never for a request. Each row is deleted only if unchanged since it was read (its ETag), in
/// entity-group transactions of up to 100 rows of one partition, at most <see cref="MaxRowsPerRun"/> rows per run.
/// Running it twice, or alongside requests, is harmless: a row refreshed meanwhile stays, a row gone already is skipped.
/// Passkey ceremony challenges live in a table of their own, partitioned by 5-minute buckets, so they go by whole old
/// partitions (<see cref="ChallengeStore.DeleteExpiredAsync"/>), and expired Idempotency-Key rows of Items with one more
/// filtered scan (<see cref="ItemStore.DeleteExpiredKeysAsync"/>), within the same row budget. The same scan of Users
/// finds outbox rows left without a drainer (<see cref="StuckOutbox"/>) and hands them to the outbox's recovery
/// (<see cref="MailDelivery.RecoverAsync"/>): marked again for the drainer, or deleted unsent when past their use.
/// </summary>
public sealed partial class ExpiredRowsCleanup(AppTables tables, ChallengeStore challenges, ItemStore items, MailDelivery mail, TimeProvider clock,
    ILogger<ExpiredRowsCleanup> logger)
{
    public const int MaxRowsPerRun = 5_000;

    /// <summary>The kinds of expiring rows in Users; a new kind adds one line here.</summary>
    public static readonly IReadOnlyList<ExpiringRows> Kinds =
    [
        new("session", now => $"RowKey gt {SessionStore.RowKeyPrefix} and RowKey lt {"session."} and ExpiresAt lt {now}"),
        new("login-throttle", now => $"RowKey eq {LoginThrottleStore.RowKey} and LastAttempt lt {now - LoginThrottle.Window}"),
        new("mail-token", now => $"RowKey gt {MailToken.RowKeyPrefixAll} and RowKey lt {"mailtoken."} and ExpiresAt lt {now}"),
        new("mail-limit", now => $"RowKey gt {MailStore.LimitRowKeyPrefix} and RowKey lt {"maillimit."} and WindowStart lt {now - MailStore.LongestLimitWindow}"),
        new("mfa-pending", now => $"RowKey eq {MfaStore.PendingRowKey} and ExpiresAt lt {now}"),
        new("mfa-token", now => $"RowKey gt {MfaToken.RowKeyPrefix} and RowKey lt {"mfatoken."} and ExpiresAt lt {now}"),
    ];

    /// <summary>
    /// Outbox rows whose next attempt has been due for <see cref="MailDelivery.RecoverAfter"/>: a drainer that has their
    /// marker tries them at its next tick, so these have none. Not deleted outright like <see cref="Kinds"/>: recovered.
    /// </summary>
    public static readonly ExpiringRows StuckOutbox = new(
        "mail-outbox",
        now => $"RowKey gt {MailStore.OutboxPrefix} and RowKey lt {"mailoutbox."} and NextAttemptAt lt {now - MailDelivery.RecoverAfter}");

    /// <summary>The report's name for expired passkey challenges.</summary>
    public const string ChallengeKind = "passkey-challenge";

    /// <summary>The report's name for expired Idempotency-Key rows of Items.</summary>
    public const string IdempotencyKeyKind = "idempotency-key";

    public async Task<CleanupReport> RunAsync(CancellationToken cancellationToken, int maxRows = MaxRowsPerRun)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        // One scan for every kind, and the stuck outbox rows: an or more costs no more pages.
        var filter = string.Join(" or ", Kinds.Append(StuckOutbox).Select(kind => "(" + TableClient.CreateQueryFilter(kind.ExpiredAt(now)) + ")"));
        var (expired, more) = await ExpiredRowDeletes.FindAsync(table, filter, maxRows, cancellationToken);
        var complete = !more;
        var deleted = 0;
        var deletedByKind = new Dictionary<string, int>();
        var partitions = expired.Select(row => row.PartitionKey).Distinct(StringComparer.Ordinal).Count();
        var stuck = expired.Where(row => KindOf(row.RowKey) == StuckOutbox.Kind).ToList();
        foreach (var row in await ExpiredRowDeletes.DeleteUnchangedAsync(table, expired.Except(stuck), cancellationToken))
        {
            deleted++;
            var kind = KindOf(row.RowKey);
            deletedByKind[kind] = deletedByKind.GetValueOrDefault(kind) + 1;
        }

        // After the expired tokens went: a stuck row whose token this run deleted is dropped now, not marked.
        var recovery = await mail.RecoverAsync(stuck.Select(row => (row.PartitionKey, row.RowKey)), cancellationToken);
        if (recovery.Dropped > 0)
        {
            deletedByKind[StuckOutbox.Kind] = recovery.Dropped;
            deleted += recovery.Dropped;
        }

        // The challenges get what is left of the run's row budget; finding as many as it allows means there may be more.
        var budget = maxRows - expired.Count;
        var (challengesFound, challengesDeleted) = budget > 0 ? await challenges.DeleteExpiredAsync(now, budget, cancellationToken) : (0, 0);
        if (challengesDeleted > 0)
        {
            deletedByKind[ChallengeKind] = challengesDeleted;
        }

        complete &= budget > 0 && challengesFound < budget;
        budget -= challengesFound;
        var (keysFound, keysDeleted) = budget > 0 ? await items.DeleteExpiredKeysAsync(now, budget, cancellationToken) : (0, 0);
        if (keysDeleted > 0)
        {
            deletedByKind[IdempotencyKeyKind] = keysDeleted;
        }

        complete &= budget > 0 && keysFound < budget;
        var scanned = expired.Count + challengesFound + keysFound;
        deleted += challengesDeleted + keysDeleted;
        var report = new CleanupReport(scanned, deleted, scanned - deleted - recovery.Marked, partitions, complete, deletedByKind, recovery.Marked);
        var byKind = string.Join(", ", deletedByKind.Select(pair => $"{pair.Key}: {pair.Value}"));
        LogRun(logger, report.Deleted, report.Partitions, report.Kept, byKind, report.OutboxMarked, complete);
        return report;
    }

    private static string KindOf(string rowKey) =>
        rowKey.StartsWith(SessionStore.RowKeyPrefix, StringComparison.Ordinal) ? "session"
        : rowKey == LoginThrottleStore.RowKey ? "login-throttle"
        : rowKey.StartsWith(MailToken.RowKeyPrefixAll, StringComparison.Ordinal) ? "mail-token"
        : rowKey.StartsWith(MailStore.LimitRowKeyPrefix, StringComparison.Ordinal) ? "mail-limit"
        : rowKey.StartsWith(MailStore.OutboxPrefix, StringComparison.Ordinal) ? StuckOutbox.Kind
        : rowKey == MfaStore.PendingRowKey ? "mfa-pending"
        : rowKey.StartsWith(MfaToken.RowKeyPrefix, StringComparison.Ordinal) ? "mfa-token"
        : "other";

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Cleanup removed {DeletedRows} expired rows in {Partitions} partitions ({DeletedByKind}); {KeptRows} changed meanwhile and kept; {OutboxMarked} stuck outbox rows marked for sending; complete: {Complete}")]
    private static partial void LogRun(ILogger logger, int deletedRows, int partitions, int keptRows, string deletedByKind, int outboxMarked, bool complete);
}
