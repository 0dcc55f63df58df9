using Azure;
using Azure.Data.Tables;
using Serverless.Functions.Accounts;
using Serverless.Functions.Storage;

namespace Serverless.Functions.Limits;

/// <summary>Password verifications reserved for one account in the current window (a success clears the row).</summary>
public sealed record ThrottleState(int Attempts, DateTime WindowStart, DateTime LastAttempt)
{
    public ETag ETag { get; init; }

    /// <summary>Names the write that reserved the last attempt, so a retried write can recognise its own row.</summary>
    public Guid Reservation { get; init; } = Guid.NewGuid();
}

/// <summary>
/// The login throttle's row per email key, changed only with ETags, so two requests can never both reserve the same
/// attempt. The row lives in the Users table beside the account's own row (same partition, row key <see cref="RowKey"/>),
/// so a login reads both with one query (<see cref="UserStore.FindForLoginAsync"/>); an unknown email's partition holds
/// only this row. A count-in-a-window row like the client limits' (<see cref="WindowCounterStore"/>).
/// </summary>
public sealed class LoginThrottleStore(WindowCounterStore counters)
{
    /// <summary>Cannot be an account's row key, which is always 43 base64url characters (<see cref="AccountKeys.KeyOf"/>).</summary>
    public const string RowKey = "login-throttle";

    // Rows are read untyped, as the login's query returns the account's row and this one together.
    public static ThrottleState FromRow(TableEntity row) => new(
        row.GetInt32(nameof(ThrottleEntity.Attempts)) ?? 0,
        row.GetDateTimeOffset(nameof(ThrottleEntity.WindowStart))?.UtcDateTime ?? default,
        row.GetDateTimeOffset(nameof(ThrottleEntity.LastAttempt))?.UtcDateTime ?? default)
    {
        ETag = row.ETag,
        Reservation = row.GetGuid(nameof(ThrottleEntity.Reservation)) ?? Guid.Empty,
    };

    /// <summary>The throttle row alone (one point read), for a request that lost the reservation race and reads it again.</summary>
    public async Task<ThrottleState?> FindAsync(string accountKey, CancellationToken cancellationToken) =>
        await counters.FindAsync(AppTables.Users, accountKey, RowKey, cancellationToken) is { } row ? FromRow(row) : null;

    /// <summary>
    /// Writes <paramref name="next"/> if the row is still as <paramref name="read"/> (absent when null) and returns it
    /// with its new ETag; null when another request changed the row first.
    /// </summary>
    public async Task<ThrottleState?> TrySaveAsync(string accountKey, ThrottleState? read, ThrottleState next, CancellationToken cancellationToken) =>
        // The SDK retries a write whose answer was lost, and the retry then finds our own write: that is no lost race.
        await counters.TrySaveAsync(AppTables.Users, ThrottleEntity.From(accountKey, next), read?.ETag,
            stored => FromRow(stored).Reservation == next.Reservation, cancellationToken) is { } etag
            ? next with { ETag = etag }
            : null;

    /// <summary>Clears the count in a batch of the caller's: the batch fails if another attempt was reserved meanwhile.</summary>
    public static TableTransactionAction ClearAction(string accountKey, ThrottleState saved) =>
        new(TableTransactionActionType.Delete, new TableEntity(accountKey, RowKey), saved.ETag);

    /// <summary>Clears the count after a success, unless another attempt was reserved meanwhile (that one still counts).</summary>
    public Task TryDeleteAsync(string accountKey, ThrottleState saved, CancellationToken cancellationToken) =>
        counters.TryDeleteAsync(AppTables.Users, accountKey, RowKey, saved.ETag, cancellationToken);

    private sealed class ThrottleEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public int Attempts { get; set; }
        public DateTime WindowStart { get; set; }
        public DateTime LastAttempt { get; set; }
        public Guid Reservation { get; set; }

        public static ThrottleEntity From(string accountKey, ThrottleState state) => new()
        {
            PartitionKey = accountKey,
            RowKey = LoginThrottleStore.RowKey,
            Attempts = state.Attempts,
            WindowStart = state.WindowStart,
            LastAttempt = state.LastAttempt,
            Reservation = state.Reservation,
        };
    }
}
