namespace Serverless.Functions.Accounts;

/// <summary>
/// docs/api.md's throttle: after 5 failed logins for one email within 15 minutes, refuse further attempts until
/// 15 minutes after the last failure. Known and unknown emails are counted alike.
/// </summary>
public sealed class LoginThrottle(LoginThrottleStore store, TimeProvider clock)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    // Concurrent failures for one email retry their conditional write; each round at least one of them lands.
    // The wait before a retry is random up to a cap that doubles each time (full jitter), so a burst spreads out
    // instead of re-colliding: that keeps both the storage transactions and the time under contention down.
    private const int MaxWriteAttempts = 100;
    private const int FirstBackoffMilliseconds = 8;
    private const int MaxBackoffMilliseconds = 250;

    /// <summary>How long the caller must wait, or null when an attempt is allowed now.</summary>
    public TimeSpan? RetryAfter(ThrottleState? state)
    {
        if (state is null || state.Failures < MaxFailures)
        {
            return null;
        }

        var wait = state.LastFailure + Window - clock.GetUtcNow().UtcDateTime;
        return wait > TimeSpan.Zero ? wait : null;
    }

    /// <summary>Counts one failure; starts from <paramref name="read"/> and re-reads only when another request got there first.</summary>
    public async Task RecordFailureAsync(string accountKey, ThrottleState? read, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var next = read is not null && now - read.WindowStart < Window
                ? new ThrottleState(read.Failures + 1, read.WindowStart, now)
                : new ThrottleState(1, now, now);
            if (await store.TrySaveAsync(accountKey, read, next, cancellationToken))
            {
                return;
            }

            await Task.Delay(Backoff(attempt), cancellationToken);
            read = await store.FindAsync(accountKey, cancellationToken);
        }

        throw new InvalidOperationException($"A failed login could not be counted after {MaxWriteAttempts} attempts.");
    }

    private static TimeSpan Backoff(int attempt)
    {
        var cap = Math.Min(FirstBackoffMilliseconds << Math.Min(attempt, 5), MaxBackoffMilliseconds);
        return TimeSpan.FromMilliseconds(Random.Shared.Next(1, cap + 1));
    }

    public Task ResetAsync(string accountKey, ThrottleState? read, CancellationToken cancellationToken) =>
        read is null ? Task.CompletedTask : store.TryDeleteAsync(accountKey, read, cancellationToken);
}
