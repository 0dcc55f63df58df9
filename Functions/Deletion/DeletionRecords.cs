namespace Serverless.Functions.Deletion;

/// <summary>The proof of the account: its password, or (for any account with passkeys) a fresh passkey assertion of the account.</summary>
public sealed record DeleteAccountRequest(string? Password, System.Text.Json.JsonElement? PasskeyAssertion = null);

/// <summary>What a request to delete the caller's account came to; the function maps each case to its HTTP answer.</summary>
public abstract record DeletionOutcome
{
    public sealed record Deleted : DeletionOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : DeletionOutcome;

    public sealed record Throttled(TimeSpan RetryAfter) : DeletionOutcome;

    public sealed record AccountGone : DeletionOutcome;

    /// <summary>This instance is hashing as many passwords as it may; nothing was checked.</summary>
    public sealed record Busy(TimeSpan RetryAfter) : DeletionOutcome;
}

/// <summary>How far one run of the purge got.</summary>
public enum PurgeProgress
{
    /// <summary>Nothing of the account is left in storage.</summary>
    Finished,

    /// <summary>The run's budget ran out; a continuation message is on the queue.</summary>
    Continued,
}

/// <summary>
/// How much one purge run may do before it hands over to a continuation message: bounded in batches and in time, well
/// inside the host's function timeout (host.json), so a run is never killed for taking too long.
/// </summary>
public sealed record PurgeLimits(int MaxBatchesPerRun, TimeSpan TimeBudget)
{
    public static readonly PurgeLimits Default = new(300, TimeSpan.FromSeconds(20));
}
