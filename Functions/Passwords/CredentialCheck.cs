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

    /// <summary>The account's verifications are spent for now, or a parallel attempt won the reservation; nothing was hashed.</summary>
    public sealed record Throttled(TimeSpan RetryAfter) : CredentialResult;

    /// <summary>This instance is hashing as many passwords as it may (<see cref="HashSlots"/>); nothing was reserved or hashed.</summary>
    public sealed record Busy(TimeSpan RetryAfter) : CredentialResult;
}

/// <summary>
/// The one way to check a password against an account (login, and any later route that asks for the current password):
/// the login throttle reserves the attempt before anything is hashed, a success clears the count, and an unknown email
/// costs the same verification as a wrong password.
/// </summary>
public sealed partial class CredentialCheck(
    UserStore users, LoginThrottle throttle, PasswordHasher hasher, HashSlots slots, ILogger<CredentialCheck> logger)
{
    // clearReservation: false when the caller clears the returned reservation itself, in the same batch as its own write (login).
    public async Task<CredentialResult> VerifyAsync(string accountKey, string password, CancellationToken cancellationToken, bool clearReservation = true)
    {
        // The account's row and its throttle row in one request; the throttle decides before any hashing is done.
        var (user, read) = await users.FindForLoginAsync(accountKey, cancellationToken);
        if (throttle.RetryAfter(read) is { } wait)
        {
            return new CredentialResult.Throttled(wait);
        }

        // A slot before the reservation: a request the instance cannot hash for must not spend one of the account's attempts.
        using var slot = slots.TryTake();
        if (slot is null)
        {
            return new CredentialResult.Busy(HashSlots.RetryAfter);
        }

        if (await throttle.TryReserveAsync(accountKey, read, cancellationToken) is not { } reserved)
        {
            return new CredentialResult.Throttled(LoginThrottle.LostRace);
        }

        var verified = await CheckAsync(user, password, cancellationToken);
        if (verified is null)
        {
            return new CredentialResult.Wrong();
        }

        if (!clearReservation)
        {
            return new CredentialResult.Verified(verified, reserved);
        }

        await throttle.ClearAsync(accountKey, reserved, cancellationToken);
        return new CredentialResult.Verified(verified);
    }

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
