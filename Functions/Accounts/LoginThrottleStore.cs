using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Accounts;

public sealed record ThrottleState(int Failures, DateTime WindowStart, DateTime LastFailure)
{
    public ETag ETag { get; init; }
}

/// <summary>The LoginThrottle table: failed logins per email key, changed only with ETags so concurrent failures all count.</summary>
public sealed class LoginThrottleStore(AppTables tables)
{
    public async Task<ThrottleState?> FindAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.LoginThrottle, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<ThrottleEntity>(accountKey, accountKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.ToRecord() : null;
    }

    /// <summary>Writes <paramref name="next"/> if the row is still as <paramref name="read"/> (absent when null); false otherwise.</summary>
    public async Task<bool> TrySaveAsync(string accountKey, ThrottleState? read, ThrottleState next, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.LoginThrottle, cancellationToken);
        var entity = ThrottleEntity.From(accountKey, next);
        try
        {
            if (read is null)
            {
                await table.AddEntityAsync(entity, cancellationToken);
            }
            else
            {
                await table.UpdateEntityAsync(entity, read.ETag, TableUpdateMode.Replace, cancellationToken);
            }

            return true;
        }
        catch (RequestFailedException exception) when (TableErrors.IsConflict(exception) || TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            return false;
        }
    }

    /// <summary>Clears the count after a success, unless a failure was recorded meanwhile (that one still counts).</summary>
    public async Task TryDeleteAsync(string accountKey, ThrottleState read, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.LoginThrottle, cancellationToken);
        try
        {
            await table.DeleteEntityAsync(accountKey, accountKey, read.ETag, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // Changed or gone meanwhile.
        }
    }

    private sealed class ThrottleEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public int Failures { get; set; }
        public DateTime WindowStart { get; set; }
        public DateTime LastFailure { get; set; }

        public static ThrottleEntity From(string accountKey, ThrottleState state) => new()
        {
            PartitionKey = accountKey,
            RowKey = accountKey,
            Failures = state.Failures,
            WindowStart = state.WindowStart,
            LastFailure = state.LastFailure,
        };

        public ThrottleState ToRecord() =>
            new(Failures, DateTime.SpecifyKind(WindowStart, DateTimeKind.Utc), DateTime.SpecifyKind(LastFailure, DateTimeKind.Utc)) { ETag = ETag };
    }
}
