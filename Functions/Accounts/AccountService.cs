using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Mail;
using Serverless.Functions.Mfa;
using Serverless.Functions.Passwords;
using Serverless.Functions.Sessions;
using Serverless.Functions.Telemetry;
using Serverless.Functions.Tokens;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Accounts;

/// <summary>The accounts rules: signup, login with its throttle and the caller's profile (sessions: <see cref="SessionService"/>).</summary>
public sealed partial class AccountService(
    UserStore users,
    ItemStore items,
    SessionService sessions,
    CredentialCheck credentials,
    AccountKeys accountKeys,
    HashSlots hashSlots,
    ClientLimiter clientLimits,
    PasswordPolicy passwordPolicy,
    PasswordHasher hasher,
    TimeProvider clock,
    AppMetrics metrics,
    MailDelivery mail,
    SignInCompletion signIns,
    ILogger<AccountService> logger)
{
    public const int MaxDisplayNameLength = 64;

    public async Task<AccountOutcome> SignupAsync(SignupRequest request, string clientAddress, string? userAgent, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var email = EmailAddress.TryParse(request.Email, out var emailError);
        AddError(errors, "email", emailError);
        AddError(errors, "password", passwordPolicy.Check(request.Password, email));
        var displayName = ValidDisplayName(request.DisplayName, out var nameError);
        AddError(errors, "displayName", nameError);
        if (errors.Count > 0 || email is null)
        {
            return new AccountOutcome.Invalid(errors);
        }

        string passwordHash;
        using (var slot = await hashSlots.TakeAsync(cancellationToken))
        {
            if (slot is null)
            {
                return new AccountOutcome.Busy(HashSlots.RetryAfter);
            }

            // Every signup that gets as far as hashing counts against its address, whether or not the email is taken.
            if (await clientLimits.CountAsync(accountKeys.ClientKeyOf(clientAddress), ClientAction.Signup, refuseOverLimit: true, cancellationToken) is { } wait)
            {
                LogClientLimited(logger, "signup", TraceContext.CurrentTraceId);
                return new AccountOutcome.ClientLimited(wait);
            }

            passwordHash = hasher.Hash(request.Password!);
        }

        var user = new UserRecord(NewUserId(), accountKeys.KeyOf(email.Value), email.Value, displayName, passwordHash, Now());

        // The owner marker first: an account row never exists without it, or its items could never be written.
        // A marker without an account (a taken email, or a crash in between) is inert: no token names its user id; it names
        // its account, so the recovery timer (Deletion/PurgeRecovery) recognises it as an orphan and deletes it.
        await items.AddMarkerAsync(user.Id, user.AccountKey, user.CreatedAt, cancellationToken);

        // The account's row, its first session and the verification mail's token, outbox and limit rows in one
        // entity-group transaction: no account without its session or its mail. The mail rows replace any left from an
        // earlier account of the email; only the account row decides whether the email is taken. The mail gets no Outbox
        // marker here (signup stays at three transactions): the send after the answer writes one if it fails, and the
        // hourly recovery one for a row whose process died first (MailDelivery.RecoverAsync).
        var verification = mail.PrepareUnmarked(MailPurpose.Verify, user.AccountKey, user.Email);
        var session = sessions.Open(ViewOf(user), user.AccountKey, userAgent);
        if (!await users.TryAddAsync(
                user,
                [
                    SessionStore.InsertAction(session.Row),
                    .. mail.RowsForSignup(verification).Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row)),
                ],
                cancellationToken))
        {
            await items.DeleteMarkerAsync(user.Id, cancellationToken);
            return new AccountOutcome.EmailTaken();
        }

        mail.SendInBackground(verification);

        LogSignedUp(logger, user.Id, TraceContext.CurrentTraceId);
        metrics.SignedUp();
        return new AccountOutcome.SignedIn(session.Answer);
    }

    public async Task<AccountOutcome> LoginAsync(LoginRequest request, string clientAddress, string? userAgent, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        AddError(errors, "email", string.IsNullOrWhiteSpace(request.Email) ? "Enter your email address." : null);
        AddError(errors, "password", string.IsNullOrEmpty(request.Password) ? "Enter your password." : null);
        if (errors.Count > 0)
        {
            return new AccountOutcome.Invalid(errors);
        }

        // An address over its failed-login limit is refused from this instance's memory: no storage request, no hash.
        var clientKey = accountKeys.ClientKeyOf(clientAddress);
        if (clientLimits.RetryAfter(clientKey, ClientAction.FailedLogin) is { } clientWait)
        {
            LogClientLimited(logger, "login", TraceContext.CurrentTraceId);
            metrics.LoginAttempted(LoginOutcome.Throttled);
            return new AccountOutcome.ClientLimited(clientWait);
        }

        var accountKey = accountKeys.KeyOf(request.Email!);
        // The success clears the throttle in the same batch as the new session: a clean login is 3 transactions.
        // Checked again once a hash slot is taken: requests of the address that waited in the queue were counted meanwhile.
        switch (await credentials.VerifyAsync(accountKey, request.Password!, cancellationToken, clearReservation: false,
                    () => clientLimits.RetryAfter(clientKey, ClientAction.FailedLogin),
                    token => clientLimits.CountAsync(clientKey, ClientAction.FailedLogin, refuseOverLimit: false, token)))
        {
            case CredentialResult.Refused refused:
                LogClientLimited(logger, "login", TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Throttled);
                return new AccountOutcome.ClientLimited(refused.RetryAfter);
            case CredentialResult.Busy busy:
                LogBusy(logger, TraceContext.CurrentTraceId);
                return new AccountOutcome.Busy(busy.RetryAfter);
            case CredentialResult.Throttled throttled:
                LogThrottled(logger, AccountKeys.Hint(accountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Throttled);
                return new AccountOutcome.Throttled(throttled.RetryAfter);
            case CredentialResult.Verified { User: var user, Reservation: var reserved }:
                LogLoggedIn(logger, user.Id, TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Success);
                // A session, or (two-step sign-in on) the mfaRequired answer, which leaves the attempt counted until the second step.
                return await signIns.CompleteAsync(user, userAgent, reserved is null ? [] : [LoginThrottleStore.ClearAction(accountKey, reserved)], cancellationToken);
            default:
                // The failure was counted for the client while the hash slot was still held (VerifyAsync).
                LogLoginFailed(logger, AccountKeys.Hint(accountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Failure);
                return new AccountOutcome.BadCredentials();
        }
    }

    /// <summary>
    /// A signed-in caller proves their password again (before deleting the account): the login's one password check
    /// (attempt reserved before hashing, counted when wrong), so a stolen access token gives no more guesses than the login form.
    /// </summary>
    public async Task<Reauthentication> ReauthenticateAsync(Caller caller, string password, CancellationToken cancellationToken)
    {
        switch (await credentials.VerifyAsync(caller.AccountKey, password, cancellationToken))
        {
            case CredentialResult.Busy busy:
                return new Reauthentication.Busy(busy.RetryAfter);
            case CredentialResult.Throttled throttled:
                LogThrottled(logger, AccountKeys.Hint(caller.AccountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Throttled);
                return new Reauthentication.Throttled(throttled.RetryAfter);
            case CredentialResult.Verified { User: var user } when user.Id == caller.UserId:
                return new Reauthentication.Verified(user);
            case CredentialResult.Verified:
                return new Reauthentication.AccountGone();
            default:
                // Not the account's password, or no account any more (deleted meanwhile): only the wrong path pays this read.
                if (await users.FindAsync(caller.AccountKey, cancellationToken) is not { } account || account.Id != caller.UserId)
                {
                    return new Reauthentication.AccountGone();
                }

                LogLoginFailed(logger, AccountKeys.Hint(caller.AccountKey), TraceContext.CurrentTraceId);
                metrics.LoginAttempted(LoginOutcome.Failure);
                return new Reauthentication.WrongPassword();
        }
    }

    public async Task<ProfileView?> GetProfileAsync(Caller caller, CancellationToken cancellationToken)
    {
        var user = await users.FindAsync(caller.AccountKey, cancellationToken);
        return user is not null && user.Id == caller.UserId
            ? new ProfileView(user.Id, user.Email, user.DisplayName, user.CreatedAt, user.EmailVerified, user.HasPassword, user.MfaEnabled)
            : null;
    }

    internal static string? ValidDisplayName(string? input, out string? error)
    {
        error = null;
        if (input is null)
        {
            return null;
        }

        if (input.Length > MaxDisplayNameLength * 4 || !Text.TryNormalize(input, out var name)
            || name.Length == 0 || Text.CodePoints(name) > MaxDisplayNameLength || Text.HasControlCharacters(name))
        {
            error = $"Use 1 to {MaxDisplayNameLength} characters, without control characters.";
            return null;
        }

        return name;
    }

    private static void AddError(Dictionary<string, string[]> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors[field] = [error];
        }
    }

    internal static UserView ViewOf(UserRecord user) => new(user.Id, user.Email, user.DisplayName, user.CreatedAt, user.EmailVerified);

    internal static string NewUserId() => Guid.CreateVersion7().ToString("N");

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} signed up (trace {TraceId})")]
    private static partial void LogSignedUp(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {UserId} logged in (trace {TraceId})")]
    private static partial void LogLoggedIn(ILogger logger, string userId, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login failed for account {AccountHint} (trace {TraceId})")]
    private static partial void LogLoginFailed(ILogger logger, string accountHint, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login throttled for account {AccountHint} (trace {TraceId})")]
    private static partial void LogThrottled(ILogger logger, string accountHint, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client address over its {Action} limit (trace {TraceId})")]
    private static partial void LogClientLimited(ILogger logger, string action, string? traceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Password hashing at capacity: request refused with 503 (trace {TraceId})")]
    private static partial void LogBusy(ILogger logger, string? traceId);
}
