using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Limits;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Passwords;

/// <summary>What checking an account's password came to.</summary>
public abstract record CredentialResult
{
    /// <summary>The right password. <paramref name="Reservation"/> is the attempt still to clear, when the caller clears it in a batch of its own.</summary>
    public sealed record Verified(UserRecord User, ThrottleState? Reservation = null) : CredentialResult;

    /// <summary>Wrong password or no such account: the caller cannot tell which, and neither may its answer.</summary>
    public sealed record Wrong : CredentialResult;

    /// <summary>The account's verifications are spent for now (by checks that failed, or elsewhere); nothing was hashed.</summary>
    public sealed record Throttled(TimeSpan RetryAfter) : CredentialResult;

    /// <summary>
    /// This instance is hashing as many passwords as it may (<see cref="HashSlots"/>), or parallel requests on the account kept
    /// winning its reservation for longer than the tries; nothing was reserved or hashed.
    /// </summary>
    public sealed record Busy(TimeSpan RetryAfter) : CredentialResult;

    /// <summary>The caller's own check, made again once a hash slot was taken (the wait may have outlasted it), refused; nothing was reserved or hashed.</summary>
    public sealed record Refused(TimeSpan RetryAfter) : CredentialResult;
}

/// <summary>
/// The one way to check a password against an account (login, and any later route that asks for the current password):
/// the login throttle reserves the attempt before anything is hashed, a success clears the count, and an unknown email
/// costs the same verification as a wrong password.
/// </summary>
public sealed partial class CredentialCheck(
    UserStore users, LoginThrottle throttle, PasswordHasher hasher, HashSlots slots, ILogger<CredentialCheck> logger)
{
    // A lost reservation race is tried again on the row as it now stands; each loss means another request wrote, and at most
    // MaxAttempts of those can be reservations in a window, so this bound is only reached by clears racing reservations.
    private const int MaxReservationAttempts = 20;
    private const int MaxBackoffMilliseconds = 20;

    // clearReservation: false when the caller clears the returned reservation itself, in the same batch as its own write (login).
    public async Task<CredentialResult> VerifyAsync(string accountKey, string password, CancellationToken cancellationToken, bool clearReservation = true,
        Func<TimeSpan?>? refuseOnceSlotted = null, Func<CancellationToken, Task>? countFailureWhileSlotted = null)
    {
        // The account's row and its throttle row in one request; the throttle decides before any hashing is done.
        var (user, read) = await users.FindForLoginAsync(accountKey, cancellationToken);
        for (var attempt = 0; attempt < MaxReservationAttempts; attempt++)
        {
            if (throttle.RetryAfter(read) is { } wait)
            {
                // Spent, but perhaps only by parallel logins of the account here that may all succeed (two tabs): a retry in
                // a second finds out. Never checked now: a success clearing the count must not open the budget to the rest
                // of a burst of guesses sent with it.
                return throttle.HeldByChecksUnderWay(accountKey, read!)
                    ? new CredentialResult.Busy(LoginThrottle.LostRace)
                    : new CredentialResult.Throttled(wait);
            }

            // A slot before the reservation: a request the instance cannot hash for must not spend one of the account's attempts.
            using (var slot = await slots.TakeAsync(cancellationToken))
            {
                if (slot is null)
                {
                    return new CredentialResult.Busy(HashSlots.RetryAfter);
                }

                if (refuseOnceSlotted?.Invoke() is { } refused)
                {
                    return new CredentialResult.Refused(refused);
                }

                if (await throttle.TryReserveAsync(accountKey, read, cancellationToken) is { } reserved)
                {
                    return await CheckReservedAsync(accountKey, user, password, reserved, clearReservation, countFailureWhileSlotted, cancellationToken);
                }
            }

            // Another request changed the row first: not a reason to refuse this one. Read it again and try on top of it,
            // unless a success cleared the count meanwhile (fewer attempts than before): a request of the same burst must
            // not start on the fresh budget, or a guess sent with the right password would get five more checks.
            await BackoffAsync(attempt, cancellationToken);
            var before = read?.Attempts ?? 0;
            read = await throttle.ReadAsync(accountKey, cancellationToken);
            if ((read?.Attempts ?? 0) <= before)
            {
                return new CredentialResult.Busy(LoginThrottle.LostRace);
            }
        }

        // Contention on the account outlasted the tries: nothing was hashed, and a retry shortly will find it calmer.
        return new CredentialResult.Busy(LoginThrottle.LostRace);
    }

    private async Task<CredentialResult> CheckReservedAsync(
        string accountKey, UserRecord? user, string password, ThrottleState reserved, bool clearReservation,
        Func<CancellationToken, Task>? countFailureWhileSlotted, CancellationToken cancellationToken)
    {
        var failed = true;
        throttle.Started(accountKey);
        try
        {
            var verified = await CheckAsync(user, password, cancellationToken);
            if (verified is null)
            {
                // Still holding the hash slot: a request that waited for it must see this failure when it checks the
                // client's count (refuseOnceSlotted), or each freed slot would let one more past the limit.
                if (countFailureWhileSlotted is not null)
                {
                    await countFailureWhileSlotted(cancellationToken);
                }

                return new CredentialResult.Wrong();
            }

            failed = false;
            if (!clearReservation)
            {
                return new CredentialResult.Verified(verified, reserved);
            }

            await throttle.ClearAsync(accountKey, reserved, cancellationToken);
            return new CredentialResult.Verified(verified);
        }
        finally
        {
            throttle.Ended(accountKey, failed);
        }
    }

    private static Task BackoffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(1, Math.Min(2 << Math.Min(attempt, 4), MaxBackoffMilliseconds) + 1), cancellationToken);

    // No stored password is this long or this malformed, and hashing it would only cost us (or throw).
    private static bool CannotMatch(string password) =>
        Text.CodePoints(password) > AuthOptions.MaxPasswordLength || !Text.TryNormalize(password, out _, trim: false);

    private async Task<UserRecord?> CheckAsync(UserRecord? user, string password, CancellationToken cancellationToken)
    {
        if (CannotMatch(password))
        {
            return null;
        }

        // No account, or an account without a password (passkeys only): the same time as a wrong password, the same answer.
        if (user is null || !user.HasPassword)
        {
            hasher.VerifyNothing(password);
            return null;
        }

        var check = hasher.Verify(password, user.PasswordHash);
        if (check == PasswordCheck.NeedsUpgrade)
        {
            await users.TryReplacePasswordHashAsync(user, hasher.Hash(password), cancellationToken);
            LogHashUpgraded(logger, user.Id);
        }

        return check == PasswordCheck.Wrong ? null : user;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Password hash of user {UserId} upgraded to the current cost")]
    private static partial void LogHashUpgraded(ILogger logger, string userId);
}
