
namespace Serverless.Functions.Limits;

/// <summary>
/// docs/api.md's throttle: at most 5 password verifications for one email within 15 minutes, whatever the concurrency; once
/// they are spent, attempts are refused until 15 minutes after the last one. A success clears the count. Known and
/// unknown emails are counted alike.
/// </summary>
/// <remarks>
/// An attempt is reserved with a conditional write before any hashing, so parallel requests cannot all check a password
/// against one stale count: of the requests that read the same row, one write lands and the others are refused
/// (<see cref="LostRace"/>) without hashing. A burst therefore gets no more verifications than a sequence.
/// </remarks>
public sealed class LoginThrottle(LoginThrottleStore store, TimeProvider clock)
{
    public const int MaxAttempts = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    /// <summary>What a request that lost the reservation race is told to wait: the winner's check is over by then.</summary>
    public static readonly TimeSpan LostRace = TimeSpan.FromSeconds(1);

    /// <summary>How long the caller must wait given the row as read, or null when an attempt may be reserved now.</summary>
    public TimeSpan? RetryAfter(ThrottleState? state)
    {
        if (state is null || state.Attempts < MaxAttempts)
        {
            return null;
        }

        var wait = state.LastAttempt + Window - Now();
        return wait > TimeSpan.Zero ? wait : null;
    }

    /// <summary>
    /// Reserves one verification on top of <paramref name="read"/>: the saved row (keep it to clear the count after a
    /// success), or null when the budget is spent or another request changed the row first.
    /// </summary>
    public async Task<ThrottleState?> TryReserveAsync(string accountKey, ThrottleState? read, CancellationToken cancellationToken)
    {
        if (RetryAfter(read) is not null)
        {
            return null;
        }

        var now = Now();
        var next = read is not null && now - read.WindowStart < Window && read.Attempts < MaxAttempts
            ? new ThrottleState(read.Attempts + 1, read.WindowStart, now)
            : new ThrottleState(1, now, now);
        return await store.TrySaveAsync(accountKey, read, next, cancellationToken);
    }

    /// <summary>A success resets the count: the row goes, unless another attempt was reserved since this one.</summary>
    public Task ClearAsync(string accountKey, ThrottleState reserved, CancellationToken cancellationToken) =>
        store.TryDeleteAsync(accountKey, reserved, cancellationToken);

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
