using Microsoft.Extensions.Logging;
using Serverless.Functions.Accounts;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;

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
    CredentialCheck credentials,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    ILogger<PasswordChangeService> logger)
{
    // The batch fails as a whole when the account's row changed meanwhile; then everything is read again. (A session ended
    // meanwhile is SessionStore.EndAllAsync's to handle.)
    private const int MaxWriteAttempts = 3;

    public async Task<AccountOutcome> ChangeAsync(Caller caller, PasswordChangeRequest request, string? userAgent, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            return Invalid("currentPassword", "Enter your current password.");
        }

        // The current password is checked as a login checks it: the attempt is reserved before hashing, and a wrong one counts.
        UserRecord? user;
        switch (await credentials.VerifyAsync(caller.AccountKey, request.CurrentPassword, cancellationToken))
        {
            case CredentialResult.Busy busy:
                return new AccountOutcome.Busy(busy.RetryAfter);
            case CredentialResult.Throttled throttled:
                return new AccountOutcome.Throttled(throttled.RetryAfter);
            case CredentialResult.Verified verified:
                user = verified.User;
                break;
            default:
                LogWrongCurrentPassword(logger, caller.UserId, TraceContext.CurrentTraceId);
                return Invalid("currentPassword", "The current password is not correct.");
        }

        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            if (user is null || user.Id != caller.UserId)
            {
                return new AccountOutcome.AccountGone();
            }

            if (passwordPolicy.Check(request.NewPassword, EmailAddress.TryParse(user.Email, out _)) is { } weak)
            {
                return Invalid("newPassword", weak);
            }

            // Every session ends, the caller's too: the answer's new session replaces it.
            var opened = sessions.Open(new UserView(user.Id, user.Email, user.DisplayName, user.CreatedAt, user.EmailVerified), user.AccountKey, userAgent);
            var alongside = new[] { UserStore.ReplacePasswordHashAction(user, hasher.Hash(request.NewPassword!)), SessionStore.InsertAction(opened.Row) };
            if (await sessionStore.EndAllAsync(user.AccountKey, alongside, cancellationToken) is { } ended)
            {
                LogPasswordChanged(logger, user.Id, ended, TraceContext.CurrentTraceId);
                return new AccountOutcome.SignedIn(opened.Answer);
            }

            user = await users.FindAsync(caller.AccountKey, cancellationToken);
        }

        throw new InvalidOperationException($"The password change did not land after {MaxWriteAttempts} attempts.");
    }

    private static AccountOutcome.Invalid Invalid(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} changed their password: {SessionCount} sessions ended (trace {TraceId})")]
    private static partial void LogPasswordChanged(ILogger logger, string userId, int sessionCount, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Password change with a wrong current password for user {UserId} (trace {TraceId})")]
    private static partial void LogWrongCurrentPassword(ILogger logger, string userId, string? traceId);
}
