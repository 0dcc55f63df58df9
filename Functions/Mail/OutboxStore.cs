using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Mail;

/// <summary>Where the drainer finds an outbox row: its account's partition and row key, filed under the day it was written.</summary>
public sealed record OutboxMarker(string Day, string RowKey, string AccountKey, string OutboxRowKey);

/// <summary>
/// The Outbox table: at most one marker per mail (its key is made of the mail's creation time and outbox row key, so
/// writing it again meets the one there), partitioned by UTC day, row keys starting with the creation time, so the
/// drainer finds pending mails with a bounded query of one or two partitions, never a scan. A marker is written before
/// the mail's rows, so a crash in between leaves a marker to nothing (dropped by the drainer); signup's mail is the
/// exception (its marker comes only if its send fails), and an outbox row left without a marker whatever the cause is
/// found by the hourly cleanup's scan and marked again (<see cref="MailDelivery.RecoverAsync"/>): never a mail nobody finds.
/// </summary>
public sealed class OutboxStore(AppTables tables)
{
    public static OutboxMarker MarkerFor(DateTime createdAt, string accountKey, string outboxRowKey) => new(
        DayOf(createdAt), $"{createdAt.Ticks.ToString("D19", CultureInfo.InvariantCulture)}-{outboxRowKey[MailStore.OutboxPrefix.Length..]}",
        accountKey, outboxRowKey);

    public static string DayOf(DateTime time) => time.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    public async Task AddAsync(OutboxMarker marker, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Outbox, cancellationToken);
        try
        {
            await table.AddEntityAsync(
                new TableEntity(marker.Day, marker.RowKey) { ["AccountKey"] = marker.AccountKey, ["OutboxRowKey"] = marker.OutboxRowKey },
                cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception))
        {
            // A resent insert whose first answer was lost: the marker (random id) is ours and stored.
        }
    }

    /// <summary>Markers of <paramref name="day"/> written before <paramref name="before"/>, oldest first, at most <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<OutboxMarker>> ListAsync(string day, DateTime before, int max, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Outbox, cancellationToken);
        var upTo = before.Ticks.ToString("D19", CultureInfo.InvariantCulture);
        var markers = new List<OutboxMarker>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {day} and RowKey lt {upTo}"), maxPerPage: max, cancellationToken: cancellationToken))
        {
            markers.Add(new OutboxMarker(row.PartitionKey, row.RowKey, row.GetString("AccountKey") ?? "", row.GetString("OutboxRowKey") ?? ""));
            if (markers.Count == max)
            {
                break;
            }
        }

        return markers;
    }

    public async Task DeleteAsync(OutboxMarker marker, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Outbox, cancellationToken);
        try
        {
            await table.DeleteEntityAsync(marker.Day, marker.RowKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            // Already gone.
        }
    }
}
