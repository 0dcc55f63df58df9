
namespace Serverless.Functions.Limits;

/// <summary>
/// The per-instance cap on Argon2id hashes in flight (<see cref="AbuseLimits.MaxHashesInFlight"/>): a request that finds
/// every slot taken is answered 503 at once, before hashing, instead of waiting in a queue that grows with the attack
/// and takes the instance's memory (each hash holds 19 MiB) and every other request's latency with it.
/// </summary>
public sealed class HashSlots(AbuseLimits limits)
{
    /// <summary>What a refused request is told to wait: a hash takes tens of milliseconds, so slots free up within a second.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private int inFlight;
    private int peak;

    public int Capacity => limits.MaxHashesInFlight;

    /// <summary>The most slots ever held at once: what the tests read to check the cap under load.</summary>
    public int PeakInFlight => Volatile.Read(ref peak);

    /// <summary>A slot to dispose when the hashing is over, or null when all are taken.</summary>
    public IDisposable? TryTake()
    {
        var taken = Interlocked.Increment(ref inFlight);
        if (taken > Capacity)
        {
            Interlocked.Decrement(ref inFlight);
            return null;
        }

        for (var seen = Volatile.Read(ref peak); taken > seen; seen = Volatile.Read(ref peak))
        {
            Interlocked.CompareExchange(ref peak, taken, seen);
        }

        return new Slot(this);
    }

    private sealed class Slot(HashSlots owner) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Interlocked.Decrement(ref owner.inFlight);
            }
        }
    }
}
