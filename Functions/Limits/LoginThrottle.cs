using System.Diagnostics;

namespace Serverless.Functions.Limits;

/// <summary>
/// docs/api.md's throttle: at most 5 password verifications for one email within 15 minutes, whatever the concurrency; once
/// they are spent, attempts are refused until 15 minutes after the last one. A success clears the count. Known and
/// unknown emails are counted alike.
/// </summary>
/// <remarks>
/// An attempt is reserved with a conditional write before any hashing, so parallel requests cannot all check a password
/// against one stale count: of the requests that read the same row, one write lands and the others read the row again and
/// try once more on top of it (no hash for a lost race). A burst therefore gets no more verifications than a sequence, and
/// a request that lost a race is answered as the count stands, not refused for the race. A request that finds the budget
/// spent only by checks still under way on this instance that have all gone well so far (two tabs logging in at once) is
/// told to retry in a second (503 busy) rather than "too many attempts"; it is never checked in that burst, since a success
/// clearing the count must not open the budget to the guesses sent with it.
/// </remarks>
public sealed class LoginThrottle(LoginThrottleStore store, TimeProvider clock)
{
    public const int MaxAttempts = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    /// <summary>What a request is told to wait when contention on the account outlasted its tries: the checks under way are over by then.</summary>
    public static readonly TimeSpan LostRace = TimeSpan.FromSeconds(1);

    /// <summary>How long after the last check here ended a spent row may still be waiting for that check's clear to land.</summary>
    private static readonly TimeSpan ClearGrace = TimeSpan.FromSeconds(1);

    // Entries are small, but many accounts at once must not grow the dictionary without end.
    private const int MaxTracked = 20_000;

    private readonly Dictionary<string, Checks> checks = [];

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

    /// <summary>The throttle row alone, read again after a lost race or a wait.</summary>
    public Task<ThrottleState?> ReadAsync(string accountKey, CancellationToken cancellationToken) => store.FindAsync(accountKey, cancellationToken);

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

    /// <summary>A reserved check starts on this instance; end it with <see cref="Ended"/> (failed unless told otherwise).</summary>
    public void Started(string accountKey)
    {
        lock (checks)
        {
            if (!checks.TryGetValue(accountKey, out var entry))
            {
                if (checks.Count >= MaxTracked)
                {
                    checks.Clear();
                }

                checks[accountKey] = entry = new Checks();
            }

            entry.UnderWay++;
        }
    }

    public void Ended(string accountKey, bool failed)
    {
        lock (checks)
        {
            if (checks.TryGetValue(accountKey, out var entry))
            {
                entry.UnderWay = Math.Max(0, entry.UnderWay - 1);
                entry.LastEnded = Stopwatch.GetTimestamp();
                if (failed)
                {
                    entry.LastFailure = Now();
                }
            }
        }
    }

    /// <summary>
    /// For a request that found the budget spent as <paramref name="read"/>: true when the spent attempts may be only checks
    /// of the account under way here (or just ended, their clear still landing) and none failed in the window, so a retry
    /// in a second may find the count cleared; false when a check failed or the attempts were spent elsewhere or long ago.
    /// </summary>
    public bool HeldByChecksUnderWay(string accountKey, ThrottleState read)
    {
        lock (checks)
        {
            return checks.TryGetValue(accountKey, out var entry) && entry.LastFailure < read.WindowStart
                && (entry.UnderWay > 0 || Stopwatch.GetElapsedTime(entry.LastEnded) < ClearGrace);
        }
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private sealed class Checks
    {
        public int UnderWay;
        public long LastEnded;
        public DateTime LastFailure = DateTime.MinValue;
    }
}
