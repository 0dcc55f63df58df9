using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Accounts;

public sealed record ThrottleState(int Failures, DateTime WindowStart, DateTime LastFailure)
{
    public ETag ETag { get; init; }
}

/// <summary>
/// Failed logins per email key, changed only with ETags so concurrent failures all count. The row lives in the Users
/// table beside the account's own row (same partition, row key <see cref="RowKey"/>), so a login reads both with one
/// query (<see cref="UserStore.FindForLoginAsync"/>); an unknown email's partition holds only this row.
/// </summary>
public sealed class LoginThrottleStore(AppTables tables)
{
    /// <summary>Cannot be an account's row key, which is always 43 base64url characters (<see cref="EmailAddress.KeyOf"/>).</summary>
    public const string RowKey = "login-throttle";

    public async Task<ThrottleState?> FindAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(accountKey, RowKey, cancellationToken: cancellationToken);
        return response.HasValue ? FromRow(response.Value!) : null;
    }

    // Rows are read untyped, as the login's query returns the account's row and this one together.
    public static ThrottleState FromRow(TableEntity row) => new(
        row.GetInt32(nameof(ThrottleEntity.Failures)) ?? 0,
        row.GetDateTimeOffset(nameof(ThrottleEntity.WindowStart))?.UtcDateTime ?? default,
        row.GetDateTimeOffset(nameof(ThrottleEntity.LastFailure))?.UtcDateTime ?? default) { ETag = row.ETag };

    /// <summary>Writes <paramref name="next"/> if the row is still as <paramref name="read"/> (absent when null); false otherwise.</summary>
    public async Task<bool> TrySaveAsync(string accountKey, ThrottleState? read, ThrottleState next, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
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
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.DeleteEntityAsync(accountKey, RowKey, read.ETag, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsPreconditionFailed(exception) || TableErrors.IsNotFound(exception))
        {
            // Changed or gone meanwhile.
        }
    }

    /// <summary>Clears the count whatever it is (a password reset: the owner proved control of the email).</summary>
    public async Task ClearAsync(string accountKey, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(AppTables.Users, cancellationToken);
        try
        {
            await table.DeleteEntityAsync(accountKey, RowKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException exception) when (TableErrors.IsNotFound(exception))
        {
            // No failures counted.
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
            RowKey = LoginThrottleStore.RowKey,
            Failures = state.Failures,
            WindowStart = state.WindowStart,
            LastFailure = state.LastFailure,
        };
    }
}
