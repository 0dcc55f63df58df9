using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Passwords;

public sealed record PasswordChangeRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// <c>PUT /api/me/password</c>: the current password is checked under the login throttle (a wrong one counts as a failed
/// login), the new one under the signup rules; the new hash, the end of every session of the account and a new session for
/// the caller are one entity-group transaction, so no old session outlives the change.
/// </summary>
public sealed partial class PasswordChangeService(
    UserStore users,
    SessionStore sessionStore,
    SessionService sessions,
    LoginThrottle throttle,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    ILogger<PasswordChangeService> logger)
{
    // One entity-group transaction holds at most 100 operations: the account's row, the new session, and this many ends.
    private const int SessionEndsInTheBatch = 98;

    // The batch fails as a whole when a session ended or the account's row changed meanwhile; then everything is read again.
    private const int MaxWriteAttempts = 3;

    public async Task<AccountOutcome> ChangeAsync(Caller caller, PasswordChangeRequest request, string? userAgent, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            errors["currentPassword"] = ["Enter your current password."];
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            var (user, throttleState) = await users.FindForLoginAsync(caller.AccountKey, cancellationToken);
            if (user is null || user.Id != caller.UserId)
            {
                return new AccountOutcome.AccountGone();
            }

            if (passwordPolicy.Check(request.NewPassword, EmailAddress.TryParse(user.Email, out _)) is { } weak)
            {
                errors["newPassword"] = [weak];
            }

            if (errors.Count > 0)
            {
                return new AccountOutcome.Invalid(errors);
            }

            if (await CheckCurrentPasswordAsync(user, throttleState, request.CurrentPassword!, cancellationToken) is { } refused)
            {
                return refused;
            }

            // Every session ends, the caller's too: the answer's new session replaces it.
            var ended = await sessionStore.ListAsync(user.AccountKey, cancellationToken);
            await sessionStore.DeleteAsync(ended.Skip(SessionEndsInTheBatch), cancellationToken);
            var opened = sessions.Open(new UserView(user.Id, user.Email, user.DisplayName, user.CreatedAt), user.AccountKey, userAgent);
            var batch = ended.Take(SessionEndsInTheBatch).Select(SessionStore.DeleteAction).Append(SessionStore.InsertAction(opened.Row));
            if (await users.TryReplacePasswordHashAsync(user, hasher.Hash(request.NewPassword!), batch, cancellationToken))
            {
                LogPasswordChanged(logger, user.Id, ended.Count, TraceContext.CurrentTraceId);
                return new AccountOutcome.SignedIn(opened.Answer);
            }
        }

        throw new InvalidOperationException($"The password change did not land after {MaxWriteAttempts} attempts.");
    }

    /// <summary>
    /// The current password, checked as a login checks it: refused while the account is throttled, and a wrong one counts
    /// as a failed login. Null when it is right. (One place, so a shared throttle-guarded check can replace it.)
    /// </summary>
    private async Task<AccountOutcome?> CheckCurrentPasswordAsync(UserRecord user, ThrottleState? throttleState, string password,
        CancellationToken cancellationToken)
    {
        if (throttle.RetryAfter(throttleState) is { } wait)
        {
            return new AccountOutcome.Throttled(wait);
        }

        var cannotMatch = Text.CodePoints(password) > AuthOptions.MaxPasswordLength || !Text.TryNormalize(password, out _, trim: false);
        if (cannotMatch || hasher.Verify(password, user.PasswordHash) == PasswordCheck.Wrong)
        {
            await throttle.RecordFailureAsync(user.AccountKey, throttleState, cancellationToken);
            LogWrongCurrentPassword(logger, user.Id, TraceContext.CurrentTraceId);
            return new AccountOutcome.Invalid(new Dictionary<string, string[]> { ["currentPassword"] = ["The current password is not correct."] });
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} changed their password: {SessionCount} sessions ended (trace {TraceId})")]
    private static partial void LogPasswordChanged(ILogger logger, string userId, int sessionCount, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Password change with a wrong current password for user {UserId} (trace {TraceId})")]
    private static partial void LogWrongCurrentPassword(ILogger logger, string userId, string? traceId);
}
