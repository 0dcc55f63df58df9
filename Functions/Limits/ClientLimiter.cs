using System.Collections.Concurrent;

namespace Serverless.Functions.Limits;

/// <summary>
/// docs/api.md's per-client limits: signups and failed logins per client address and hour (<see cref="AbuseLimits"/>),
/// counted in Table Storage so they hold across instances. Each instance remembers the last count it saw per client, so
/// a count is usually one conditional write (no read first), and a client over its failed-login limit is refused from
/// memory before any storage request or hash.
/// </summary>
public sealed class ClientLimiter(ClientLimitStore store, AbuseLimits limits, TimeProvider clock)
{
    /// <summary>What a request is told to wait when its count could not be written for contention.</summary>
    public static readonly TimeSpan Contended = TimeSpan.FromSeconds(1);

    // Entries are small, but an attack from many addresses must not grow the dictionary without end.
    private const int MaxRemembered = 20_000;
    // A reservation that keeps losing gives up soon with a 429 (the address is busy with itself); a failure that already
    // happened must be counted, so it keeps trying.
    private const int MaxReservationAttempts = 8;
    private const int MaxCountAttempts = 100;
    private const int MaxBackoffMilliseconds = 200;

    private readonly ConcurrentDictionary<(string Client, ClientAction Action), ClientCount> remembered = new();

    /// <summary>How long the client must wait before <paramref name="action"/>, as far as this instance knows; null when allowed.</summary>
    public TimeSpan? RetryAfter(string clientKey, ClientAction action) =>
        remembered.TryGetValue((clientKey, action), out var count) ? Wait(count, action) : null;

    /// <summary>
    /// Counts one <paramref name="action"/> for the client. With <paramref name="refuseOverLimit"/> the count is a
    /// reservation: over the limit nothing is written and the wait is returned (as it is when contention outlasts the
    /// retries); otherwise the action already happened and is counted whatever the limit.
    /// </summary>
    public async Task<TimeSpan?> CountAsync(string clientKey, ClientAction action, bool refuseOverLimit, CancellationToken cancellationToken)
    {
        var key = (clientKey, action);
        var read = remembered.GetValueOrDefault(key);
        var attempts = refuseOverLimit ? MaxReservationAttempts : MaxCountAttempts;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            if (refuseOverLimit && read is not null && Wait(read, action) is { } wait)
            {
                return wait;
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var next = read is not null && now - read.WindowStart < AbuseLimits.ClientWindow
                ? new ClientCount(read.Count + 1, read.WindowStart)
                : new ClientCount(1, now);
            if (await store.TrySaveAsync(clientKey, action, read, next, cancellationToken) is { } saved)
            {
                Remember(key, saved);
                return null;
            }

            if (attempt > 0)
            {
                await Task.Delay(Random.Shared.Next(1, Math.Min(8 << Math.Min(attempt, 5), MaxBackoffMilliseconds) + 1), cancellationToken);
            }

            read = await store.FindAsync(clientKey, action, cancellationToken);
        }

        return Contended;
    }

    private TimeSpan? Wait(ClientCount count, ClientAction action)
    {
        var limit = action switch
        {
            ClientAction.Signup => limits.SignupsPerClientPerHour,
            ClientAction.FailedLogin => limits.FailedLoginsPerClientPerHour,
            _ => limits.PasskeyCeremoniesPerClientPerHour,
        };
        var wait = count.WindowStart + AbuseLimits.ClientWindow - clock.GetUtcNow().UtcDateTime;
        return count.Count >= limit && wait > TimeSpan.Zero ? wait : null;
    }

    private void Remember((string, ClientAction) key, ClientCount count)
    {
        if (remembered.Count >= MaxRemembered)
        {
            remembered.Clear();
        }

        remembered[key] = count;
    }
}
