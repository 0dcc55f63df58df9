using System.Threading.RateLimiting;

namespace Serverless.Functions.Limits;

/// <summary>
/// The per-instance cap on Argon2id hashes in flight (<see cref="AbuseLimits.MaxHashesInFlight"/>), with a short queue in
/// front of it (<see cref="AbuseLimits.HashQueueLength"/>, oldest first): a burst waits a moment for a slot instead of being
/// refused, and a request that finds the queue full, or waits longer than <see cref="AbuseLimits.HashQueueWait"/>, is
/// answered 503 before hashing. Waiters hold no Argon2 memory (each hash takes 19 MiB only while it runs), so the memory
/// bound is the cap's alone, and the queue cannot grow with an attack.
/// </summary>
public sealed class HashSlots : IDisposable
{
    /// <summary>What a refused request is told to wait: a hash takes tens of milliseconds, so slots free up within a second.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly ConcurrencyLimiter limiter;
    private readonly TimeSpan queueWait;
    private int inFlight;
    private int peak;

    public HashSlots(AbuseLimits limits)
    {
        Capacity = limits.MaxHashesInFlight;
        QueueLength = limits.HashQueueLength;
        queueWait = limits.HashQueueWait;
        limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Capacity,
            QueueLimit = QueueLength,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public int Capacity { get; }

    public int QueueLength { get; }

    /// <summary>The most slots ever held at once: what the tests read to check the cap under load.</summary>
    public int PeakInFlight => Volatile.Read(ref peak);

    /// <summary>A slot now, without queueing: null when all are taken (or others are already waiting).</summary>
    public IDisposable? TryTake() => Held(limiter.AttemptAcquire(1));

    /// <summary>A slot to dispose when the hashing is over, after waiting in the queue at most the configured wait; null when refused.</summary>
    public async Task<IDisposable?> TakeAsync(CancellationToken cancellationToken)
    {
        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waited.CancelAfter(queueWait);
        try
        {
            return Held(await limiter.AcquireAsync(1, waited.Token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public void Dispose() => limiter.Dispose();

    private Slot? Held(RateLimitLease lease)
    {
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return null;
        }

        var taken = Interlocked.Increment(ref inFlight);
        for (var seen = Volatile.Read(ref peak); taken > seen; seen = Volatile.Read(ref peak))
        {
            Interlocked.CompareExchange(ref peak, taken, seen);
        }

        return new Slot(this, lease);
    }

    private sealed class Slot(HashSlots owner, RateLimitLease lease) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Interlocked.Decrement(ref owner.inFlight);
                lease.Dispose();
            }
        }
    }
}
