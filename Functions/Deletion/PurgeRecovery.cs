using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Items;

namespace Serverless.Functions.Deletion;

/// <summary>What one recovery run did: purges enqueued again, markers found to have their account, orphan markers deleted.</summary>
public sealed record RecoveryReport(int PurgesRequeued, int MarkersChecked, int OrphanMarkersDeleted, bool Complete);

/// <summary>
/// Finishes in the background what requests and purges left in Items (<see cref="PurgeRecoveryFunction"/>, hourly): a
/// pending-purge row whose purge went silent for <see cref="ItemStore.RecoveryGrace"/> (its message lost, or poisoned after
/// 20 deliveries) gets its purge enqueued again, claimed under its ETag so that two recoveries at once enqueue it once; an
/// owner marker still unchecked after the grace is kept when its account exists with its user id (and never looked at
/// again) and deleted otherwise: its signup died before the account, or lost the email to another signup. One filtered scan
/// of Items (<see cref="ItemStore.FindUnfinishedAsync"/>), at most <see cref="MaxRowsPerRun"/> rows, then one or two point
/// requests per row.
/// </summary>
public sealed partial class PurgeRecovery(ItemStore items, UserStore users, PurgeJobs queue, TimeProvider clock, ILogger<PurgeRecovery> logger)
{
    public const int MaxRowsPerRun = 500;

    public async Task<RecoveryReport> RunAsync(CancellationToken cancellationToken, int maxRows = MaxRowsPerRun)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var (rows, more) = await items.FindUnfinishedAsync(now, maxRows, cancellationToken);
        int requeued = 0, checkedMarkers = 0, orphans = 0;
        foreach (var row in rows)
        {
            if (row.IsPurge)
            {
                if (row.AccountKey.Length > 0 && await items.TryClaimPurgeAsync(row, now, cancellationToken))
                {
                    await queue.EnqueueAsync(new PurgeMessage(row.UserId, row.AccountKey), cancellationToken);
                    LogRequeued(logger, row.UserId);
                    requeued++;
                }
            }
            else if (row.AccountKey.Length > 0 && await users.FindAsync(row.AccountKey, cancellationToken) is { } account && account.Id == row.UserId)
            {
                // A live account (or one whose deletion has not reached its marker yet): the marker stays.
                checkedMarkers += await items.TryMarkCheckedAsync(row.UserId, cancellationToken) ? 1 : 0;
            }
            else if (await items.TryDeleteOrphanMarkerAsync(row, cancellationToken))
            {
                LogOrphanDeleted(logger, row.UserId);
                orphans++;
            }
        }

        var report = new RecoveryReport(requeued, checkedMarkers, orphans, !more);
        LogRun(logger, requeued, checkedMarkers, orphans, report.Complete);
        return report;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purge of user {UserId} went silent past its grace period (message lost or poisoned); enqueued again")]
    private static partial void LogRequeued(ILogger logger, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Owner marker of user {UserId} had no account (a signup that died or lost its email); deleted")]
    private static partial void LogOrphanDeleted(ILogger logger, string userId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Purge recovery: {Requeued} purges enqueued again, {Checked} owner markers checked, {Orphans} orphan markers deleted; complete: {Complete}")]
    private static partial void LogRun(ILogger logger, int requeued, int @checked, int orphans, bool complete);
}
